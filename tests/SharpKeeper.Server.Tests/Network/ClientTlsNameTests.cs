using System.Security.Cryptography.X509Certificates;
using SharpKeeper.Server.Network;

namespace SharpKeeper.Server.Tests.Network;

public sealed class ClientTlsNameTests
{
    /// <summary>
    /// The x509 id is the subject as Java's X500Principal.getName() writes it (RFC 2253): for a
    /// certificate made with `openssl req -subj "/C=US/O=Sharp Keeper/OU=Tests/CN=client one"`,
    /// Java 17 printed "CN=client one,OU=Tests,O=Sharp Keeper,C=US".
    /// </summary>
    [Fact]
    public void TheSubjectIsWrittenAsJavaWritesIt()
    {
        var certificate = X509Certificate2.CreateFromPem(OpenSslCertificate);
        Assert.Equal("CN=client one,OU=Tests,O=Sharp Keeper,C=US", ClientTls.Rfc2253Name(certificate.SubjectName));
    }

    private const string OpenSslCertificate = """
        -----BEGIN CERTIFICATE-----
        MIIDczCCAlugAwIBAgIUCnqad8FpqYZXnYbsmJyE/GD0aVAwDQYJKoZIhvcNAQEL
        BQAwSTELMAkGA1UEBhMCVVMxFTATBgNVBAoMDFNoYXJwIEtlZXBlcjEOMAwGA1UE
        CwwFVGVzdHMxEzARBgNVBAMMCmNsaWVudCBvbmUwHhcNMjYxMjA2MjAyOTI4WhcN
        MjYxMjA4MjAyOTI4WjBJMQswCQYDVQQGEwJVUzEVMBMGA1UECgwMU2hhcnAgS2Vl
        cGVyMQ4wDAYDVQQLDAVUZXN0czETMBEGA1UEAwwKY2xpZW50IG9uZTCCASIwDQYJ
        KoZIhvcNAQEBBQADggEPADCCAQoCggEBAJwxjtOaVXyyS808Q2lq1FfcJYZUSmu+
        Exb6gIOLK62TwLo1mopqoUvjsBvvUyPAfcu/ZltxjGga2w9kSeHJIfcP0MS+wdks
        XW8JAR3CQOL6YkLnLsB4DBgUbxbgK2q2F05CIfkDPurZhdR+hfaWMGJqYJwcY4HR
        Injfs4bGyof7PuTShgimfTw9Oi2QCYYUkz24SqEjfXrRxqmtJm0BaKqwpOP1/aIn
        EdXpvOcv1WH/tUm23HqB7hLvETMTaWTBe4P0ZPoTBONspkmZ/YNcfFcWUJPy+0Vg
        jCbussTnWZQm0grsc9d12YjOVUVGQ9wuQMWp3aJsvY6rXed23iehuAcCAwEAAaNT
        MFEwHQYDVR0OBBYEFDnD+C2nx8luRYeyMJKoglBaj0BNMB8GA1UdIwQYMBaAFDnD
        +C2nx8luRYeyMJKoglBaj0BNMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL
        BQADggEBADWxZwLMWb2sryel9667U6gHkLdy8wfBn/WuDGxpou4j+kdthpeUeBaS
        bsp2CxH4SjXHYiZM9YGVaQ25VfZw8Cwwh20NCltoZsA74yfVk1HZ71BZG+obvLXP
        m+LyP2+PSar3mIzsroT9FGny+sxmbkgjVrjz44CENEz8rn6HkkbVFJgV7rP+dQYV
        2iT9ZE5ApqJZUFvf0AV2tKUW52tOjr8vq9NRcJQwLALTT6vArNvHLFwHIgxTvSYG
        Hjm64zLeg3SrnWgHvu81GLUuTqHhMFpKQTOTNu98Uv/xqJcYAe8RsjJIE6bsv5Z1
        nu5I3PVoKk98v//DEtTCVGmWxSIEPtk=
        -----END CERTIFICATE-----
        """;
}
