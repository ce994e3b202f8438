// Placeholder: the ClientCertificates module grows here.
