// Placeholder: the conformance runner (PKITS, x509-limbo) grows here.
print("conformance runner: not implemented yet")
