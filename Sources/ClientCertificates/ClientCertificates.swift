// ClientCertificates: what `context.Request.Certificate`, `Verify()`, `VerifyNoRevocation()`,
// `context.Deployment.Certificates` and `validate-client-certificate` stand on.
//
//   let leaf = try X509Certificate2(derBytesFromTLSOrHeader)           // .NET-faithful facade
//   leaf.thumbprint; leaf.subject; leaf.getNameInfo(.dnsName, forIssuer: false)
//   let cas = CACertificateStore(version: 7, entries: [
//       .init(certificate: root, storeName: .root),
//       .init(certificate: intermediate, storeName: .certificateAuthority)])
//   let context = VerificationContext(
//       trustStore: cas.trustStore(forHost: "api.contoso.com"),
//       revocation: RevocationSources(store: try CRLStore(version: 1, crls: []),
//                                     cache: CRLCache(fetcher: gatewayHTTPFetcher)),
//       options: VerificationOptions(requiredUsage: .clientAuth, maxDepth: 5),
//       cache: sharedVerificationCache)
//   let result = await leaf.verify(with: context, presented: tlsChainAfterLeaf)   // Verify()
//   if !result.isValid { lastErrorReason = result.reason?.rawValue; message = result.message }
//   // VerifyNoRevocation(): await leaf.verifyNoRevocation(with: context, presented: ...)
//   // Synchronous callers, after the gateway verified: ChainVerifier.cachedResult(leaf:presented:context:)
//
// Layout: Certificate/ (facade, names, OIDs), Loading/ (PEM, DER, PKCS#7, PKCS#12), Stores/ (CA
// stores, deployment certificates, name-matching issuer lookup), Verification/ (one VerifierPolicy
// per file on swift-certificates' Verifier, results, cache), Revocation/ (CRL parsing, stores,
// fetching, checking), Tools/ (`drawbridge cert inspect` and `drawbridge certcheck`).
