using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Engagement.Testing.Smart;

/// <summary>A signing key of a test authorization server: the private key to sign with and the public JWK it publishes.</summary>
public sealed class TestSigningKey
{
    private TestSigningKey(string kid, string algorithm, SecurityKey privateKey, Dictionary<string, string> publicJwk, RSA? rsa)
    {
        Kid = kid;
        Algorithm = algorithm;
        PrivateKey = privateKey;
        PublicJwk = publicJwk;
        Rsa = rsa;
    }

    public string Kid { get; }

    public string Algorithm { get; }

    public SecurityKey PrivateKey { get; }

    public Dictionary<string, string> PublicJwk { get; }

    public RSA? Rsa { get; }

    public static TestSigningKey Rsa256(string kid, string algorithm = SecurityAlgorithms.RsaSha256)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        return new TestSigningKey(kid, algorithm, new RsaSecurityKey(rsa) { KeyId = kid }, new Dictionary<string, string>
        {
            ["kty"] = "RSA", ["kid"] = kid, ["use"] = "sig", ["alg"] = algorithm,
            ["n"] = Base64Url.EncodeToString(p.Modulus), ["e"] = Base64Url.EncodeToString(p.Exponent),
        }, rsa);
    }

    public static TestSigningKey EcP256(string kid) => Ec(kid, ECCurve.NamedCurves.nistP256, "P-256", SecurityAlgorithms.EcdsaSha256);

    public static TestSigningKey EcP384(string kid) => Ec(kid, ECCurve.NamedCurves.nistP384, "P-384", SecurityAlgorithms.EcdsaSha384);

    private static TestSigningKey Ec(string kid, ECCurve curve, string crv, string algorithm)
    {
        var ec = ECDsa.Create(curve);
        var p = ec.ExportParameters(false);
        return new TestSigningKey(kid, algorithm, new ECDsaSecurityKey(ec) { KeyId = kid }, new Dictionary<string, string>
        {
            ["kty"] = "EC", ["kid"] = kid, ["use"] = "sig", ["alg"] = algorithm, ["crv"] = crv,
            ["x"] = Base64Url.EncodeToString(p.Q.X), ["y"] = Base64Url.EncodeToString(p.Q.Y),
        }, null);
    }
}

/// <summary>Builds what a test SMART authorization server serves and signs.</summary>
public static class SmartTestTokens
{
    public static string Jwks(IEnumerable<TestSigningKey> keys, IEnumerable<Dictionary<string, string>>? extra = null) =>
        JsonSerializer.Serialize(new { keys = keys.Select(k => k.PublicJwk).Concat(extra ?? []).ToList() });

    public static string Discovery(string issuer, string jwksUri) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["issuer"] = issuer,
        ["jwks_uri"] = jwksUri,
        ["authorization_endpoint"] = issuer + "/authorize",
        ["token_endpoint"] = issuer + "/token",
        ["response_types_supported"] = "code",
    });

    public static string Create(
        TestSigningKey key,
        string issuer,
        string audience,
        string? scope,
        string? patient = null,
        string? fhirUser = null,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? expires = null,
        string? kidOverride = null)
    {
        var now = DateTimeOffset.UtcNow;
        var claims = new Dictionary<string, object> { ["sub"] = "user-1" };
        if (scope is not null)
        {
            claims["scope"] = scope;
        }

        if (patient is not null)
        {
            claims["patient"] = patient;
        }

        if (fhirUser is not null)
        {
            claims["fhirUser"] = fhirUser;
        }

        var nbf = notBefore ?? now.AddMinutes(-1);
        var exp = expires ?? now.AddMinutes(10);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            NotBefore = nbf.UtcDateTime,
            IssuedAt = (nbf < exp ? nbf : exp).UtcDateTime.AddSeconds(-1),
            Expires = exp.UtcDateTime,
            SigningCredentials = new SigningCredentials(key.PrivateKey, key.Algorithm),
        };
        if (kidOverride is not null)
        {
            descriptor.AdditionalHeaderClaims = new Dictionary<string, object> { ["kid"] = kidOverride };
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A token with <c>alg: none</c> and no signature.</summary>
    public static string AlgNone(string issuer, string audience, string scope, string? patient = null) =>
        Encode(new { alg = "none", typ = "JWT" }, Payload(issuer, audience, scope, patient)) + ".";

    /// <summary>The classic confusion attack: HS256 with the issuer's public key (PEM) as the HMAC secret.</summary>
    public static string Hs256WithPublicKey(TestSigningKey rsaKey, string issuer, string audience, string scope, string? patient = null)
    {
        var secret = Encoding.UTF8.GetBytes(rsaKey.Rsa!.ExportSubjectPublicKeyInfoPem());
        return Hs256(secret, rsaKey.Kid, issuer, audience, scope, patient);
    }

    public static string Hs256(byte[] secret, string kid, string issuer, string audience, string scope, string? patient = null)
    {
        var signingInput = Encode(new { alg = "HS256", typ = "JWT", kid }, Payload(issuer, audience, scope, patient));
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    private static Dictionary<string, object> Payload(string issuer, string audience, string scope, string? patient)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object> { ["iss"] = issuer, ["aud"] = audience, ["scope"] = scope, ["sub"] = "user-1", ["iat"] = now, ["exp"] = now + 600 };
        if (patient is not null)
        {
            payload["patient"] = patient;
        }

        return payload;
    }

    private static string Encode(object header, object payload) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(payload));
}
