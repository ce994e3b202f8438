// Tests for ClientCertificates grow here.
