using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Engagement.Security.Smart;

/// <summary>The outcome of validating a bearer token: the caller's access, or why it was refused (and whether to retry).</summary>
public sealed record SmartTokenResult(SmartAccess? Access, string? Failure, bool IssuerUnavailable = false)
{
    public static SmartTokenResult Refused(string failure) => new(null, failure);
}

/// <summary>
/// Validates SMART access tokens (JWS): the algorithm is one of RS256, RS384, ES256, ES384 (never <c>none</c>, never
/// HMAC: only the issuer's RSA/EC keys are ever used); <c>iss</c> is a configured issuer, exactly; the signature
/// verifies with a key from that issuer's JWKS; <c>aud</c> is the audience configured for it; <c>exp</c> is present
/// and <c>exp</c>/<c>nbf</c> hold within <see cref="SmartOptions.ClockSkew"/>.
/// </summary>
public sealed class SmartTokenValidator(SmartIssuerDirectory directory, IOptionsMonitor<SmartOptions> options, ILogger<SmartTokenValidator> logger)
{
    public static readonly IReadOnlyList<string> AllowedAlgorithms =
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384];

    private const int MaxTokenLength = 16 * 1024;
    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false, MaximumTokenSizeInBytes = MaxTokenLength };

    public async Task<SmartTokenResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength || !handler.CanReadToken(token))
        {
            return SmartTokenResult.Refused("The access token is not a JWT.");
        }

        JsonWebToken unverified;
        try
        {
            unverified = handler.ReadJsonWebToken(token);
        }
        catch (ArgumentException)
        {
            return SmartTokenResult.Refused("The access token is not a JWT.");
        }

        if (unverified.IsEncrypted)
        {
            return SmartTokenResult.Refused("Encrypted access tokens are not accepted.");
        }

        if (!AllowedAlgorithms.Contains(unverified.Alg, StringComparer.Ordinal))
        {
            return SmartTokenResult.Refused("The access token's signing algorithm is not accepted.");
        }

        var current = options.CurrentValue;
        var issuer = current.Issuers.FirstOrDefault(i => !string.IsNullOrEmpty(i.Issuer) && string.Equals(i.Issuer, unverified.Issuer, StringComparison.Ordinal));
        if (issuer is null || string.IsNullOrEmpty(issuer.Audience))
        {
            return SmartTokenResult.Refused("The access token's issuer is not accepted.");
        }

        IReadOnlyList<SecurityKey> keys;
        try
        {
            keys = await directory.GetSigningKeysAsync(issuer.Issuer!, string.IsNullOrEmpty(unverified.Kid) ? null : unverified.Kid, cancellationToken);
        }
        catch (SmartIssuerUnavailableException)
        {
            return new SmartTokenResult(null, "The authorization server's keys are not available; try again later.", IssuerUnavailable: true);
        }

        if (!string.IsNullOrEmpty(unverified.Kid) && !keys.Any(k => string.Equals(k.KeyId, unverified.Kid, StringComparison.Ordinal)))
        {
            return SmartTokenResult.Refused("The access token is signed with an unknown key.");
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer.Issuer,
            ValidAudiences = [issuer.Audience, issuer.Audience.TrimEnd('/')],
            IssuerSigningKeys = keys,
            ValidAlgorithms = AllowedAlgorithms,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            RequireAudience = true,
            ClockSkew = current.ClockSkew,
            TryAllIssuerSigningKeys = string.IsNullOrEmpty(unverified.Kid),
        };
        var result = await handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken verified)
        {
            logger.LogInformation("Refused a SMART access token from {Issuer}: {Reason}", issuer.Issuer, result.Exception?.GetType().Name);
            return SmartTokenResult.Refused(Describe(result.Exception));
        }

        return new SmartTokenResult(
            SmartAccess.FromToken(issuer.Issuer!, Claim(verified, "sub"), Claim(verified, "patient"), Claim(verified, "fhirUser"), SmartScopes.Parse(Scope(verified))),
            null);
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "The access token has expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        SecurityTokenInvalidAudienceException => "The access token is for another audience.",
        SecurityTokenInvalidIssuerException => "The access token's issuer is not accepted.",
        SecurityTokenInvalidAlgorithmException => "The access token's signing algorithm is not accepted.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "The access token's signature is not valid.",
        _ => "The access token is not valid.",
    };

    private static string? Claim(JsonWebToken token, string name) =>
        token.TryGetPayloadValue<string>(name, out var value) ? value : null;

    /// <summary>The <c>scope</c> claim (space-separated string), or <c>scp</c> as a string or an array.</summary>
    private static string? Scope(JsonWebToken token)
    {
        if (token.TryGetPayloadValue<string>("scope", out var scope))
        {
            return scope;
        }

        if (token.TryGetPayloadValue<string>("scp", out var scp))
        {
            return scp;
        }

        return token.TryGetPayloadValue<List<string>>("scp", out var list) ? string.Join(' ', list) : null;
    }
}
