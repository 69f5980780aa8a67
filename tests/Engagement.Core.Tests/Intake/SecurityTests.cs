using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Engagement.Intake;

namespace Engagement.Core.Tests.Intake;

public sealed class SecurityTests
{
    [Fact]
    public void Signature_is_the_hex_hmac_sha256_of_the_raw_body()
    {
        var body = Encoding.UTF8.GetBytes("{\"resourceType\":\"Bundle\"}");
        var hex = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes("k"), body));
        Assert.True(InboundGate.SignatureMatches(hex, "k", body));
        Assert.True(InboundGate.SignatureMatches("sha256=" + hex.ToUpperInvariant(), "k", body));
        Assert.False(InboundGate.SignatureMatches(hex, "other", body));
        Assert.False(InboundGate.SignatureMatches(hex, "k", [.. body, (byte)' ']));
        Assert.False(InboundGate.SignatureMatches("not-hex", "k", body));
        Assert.False(InboundGate.SignatureMatches("", "k", body));
    }

    [Fact]
    public void Rs384_assertion_verifies_with_the_public_key_and_names_client_and_audience()
    {
        using var rsa = RSA.Create(2048);
        var auth = new SourceAuthOptions { ClientId = "client-1", TokenUrl = new Uri("https://auth.example.org/token"), PrivateKey = rsa.ExportPkcs8PrivateKeyPem(), KeyId = "k1" };
        var jwt = SmartAssertion.Create(auth, DateTimeOffset.UnixEpoch.AddYears(56)).Split('.');
        Assert.True(rsa.VerifyData(Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]), FromBase64Url(jwt[2]), HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1));
        using var header = JsonDocument.Parse(FromBase64Url(jwt[0]));
        Assert.Equal("RS384", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal("k1", header.RootElement.GetProperty("kid").GetString());
        using var payload = JsonDocument.Parse(FromBase64Url(jwt[1]));
        Assert.Equal("client-1", payload.RootElement.GetProperty("iss").GetString());
        Assert.Equal("client-1", payload.RootElement.GetProperty("sub").GetString());
        Assert.Equal("https://auth.example.org/token", payload.RootElement.GetProperty("aud").GetString());
    }

    [Fact]
    public void Es384_assertion_verifies_with_the_public_key()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var auth = new SourceAuthOptions { ClientId = "c", TokenUrl = new Uri("https://a/token"), PrivateKey = ec.ExportPkcs8PrivateKeyPem(), Algorithm = "ES384" };
        var jwt = SmartAssertion.Create(auth, DateTimeOffset.UtcNow).Split('.');
        Assert.True(ec.VerifyData(Encoding.ASCII.GetBytes(jwt[0] + "." + jwt[1]), FromBase64Url(jwt[2]), HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public void Keys_are_deterministic_and_part_boundaries_matter()
    {
        Assert.Equal(IntakeKeys.For("a", "b"), IntakeKeys.For("a", "b"));
        Assert.NotEqual(IntakeKeys.For("a|b", "c"), IntakeKeys.For("a", "b|c"));
        Assert.Matches("^[0-9a-f]{32}$", IntakeKeys.For("x"));
        Assert.Equal(ClinicalEvent.TopicEventId("s", "Subscription/1", 5), ClinicalEvent.TopicEventId("s", "Subscription/1", 5));
        Assert.NotEqual(ClinicalEvent.TopicEventId("s", "Subscription/1", 5), ClinicalEvent.TopicEventId("s", "Subscription/1", 6));
    }

    private static byte[] FromBase64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '='));
    }
}
