using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hl7.Fhir.Rest;

namespace Engagement.Intake;

/// <summary>
/// Firely <see cref="FhirClient"/>s for a source's FHIR server, on <see cref="HttpClient"/>s from the factory (named
/// <see cref="HttpClientName"/>, with the standard resilience handler: timeouts, retries, circuit breaker) and the
/// source's authentication: none, a static bearer token, or SMART Backend Services (client-credentials grant with a
/// signed JWT assertion, RS384 or ES384; the access token is cached until shortly before it expires).
/// </summary>
public sealed class SourceFhirClients(IHttpClientFactory httpClients, TimeProvider time)
{
    public const string HttpClientName = "engagement-source-fhir";
    public const string TokenClientName = "engagement-source-token";

    /// <summary>Token requests per token: the first and two retries, each with a new assertion.</summary>
    private const int TokenAttempts = 3;
    private static readonly TimeSpan TokenRetryDelay = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> tokens = new(StringComparer.Ordinal);

    /// <summary>A client for the source, or null when it has no FhirBaseUrl.</summary>
    public async Task<FhirClient?> CreateAsync(string sourceName, SourceOptions source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.FhirBaseUrl is null)
        {
            return null;
        }

        var http = await CreateHttpClientAsync(sourceName, source, cancellationToken);
        var client = new FhirClient(source.FhirBaseUrl, http, new FhirClientSettings
        {
            PreferredFormat = ResourceFormat.Json,
            VerifyFhirVersion = false,
        });
        client.WithLenientSerializer();
        return client;
    }

    /// <summary>
    /// An <see cref="HttpClient"/> from the factory carrying the source's credentials, for requests the Firely client does
    /// not shape the way we need (write-back: <c>If-None-Exist</c>, the <c>Location</c> of what was created).
    /// </summary>
    public async Task<HttpClient> CreateHttpClientAsync(string sourceName, SourceOptions source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var http = httpClients.CreateClient(HttpClientName);
        var token = await AccessTokenAsync(sourceName, source.Auth, cancellationToken);
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    private async Task<string?> AccessTokenAsync(string sourceName, SourceAuthOptions auth, CancellationToken cancellationToken)
    {
        switch (auth.Type.ToLowerInvariant())
        {
            case "none" or "":
                return null;
            case "bearer":
                return auth.Token ?? throw new InvalidOperationException($"Source '{sourceName}': Auth:Type bearer needs Auth:Token.");
            case "smart":
                if (tokens.TryGetValue(sourceName, out var cached) && cached.Expires > time.GetUtcNow())
                {
                    return cached.Token;
                }

                var (token, lifetime) = await RequestSmartTokenAsync(sourceName, auth, cancellationToken);
                tokens[sourceName] = (token, time.GetUtcNow() + lifetime - TimeSpan.FromSeconds(60));
                return token;
            default:
                throw new InvalidOperationException($"Source '{sourceName}': Auth:Type must be none, bearer or smart.");
        }
    }

    private async Task<(string Token, TimeSpan Lifetime)> RequestSmartTokenAsync(string sourceName, SourceAuthOptions auth, CancellationToken cancellationToken)
    {
        if (auth.TokenUrl is null || string.IsNullOrEmpty(auth.ClientId) || string.IsNullOrEmpty(auth.PrivateKey))
        {
            throw new InvalidOperationException($"Source '{sourceName}': SMART Backend Services needs Auth:TokenUrl, Auth:ClientId and Auth:PrivateKey.");
        }

        var http = httpClients.CreateClient(TokenClientName);
        for (var attempt = 1; ; attempt++)
        {
            // A new assertion (new jti) for every attempt: the server refuses one it has seen, even if it failed it. The
            // token client's resilience handler therefore does not retry this POST (it would send the same body).
            using var form = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["scope"] = auth.Scope,
                ["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ["client_assertion"] = SmartAssertion.Create(auth, time.GetUtcNow()),
            });
            HttpResponseMessage response;
            try
            {
                response = await http.PostAsync(auth.TokenUrl, form, cancellationToken);
            }
            catch (Exception ex) when (attempt < TokenAttempts && ex is HttpRequestException or Polly.Timeout.TimeoutRejectedException)
            {
                await Task.Delay(TokenRetryDelay * attempt, time, cancellationToken);
                continue;
            }

            using (response)
            {
                if (attempt < TokenAttempts && IsTransient(response.StatusCode))
                {
                    await Task.Delay(TokenRetryDelay * attempt, time, cancellationToken);
                    continue;
                }

                response.EnsureSuccessStatusCode();
                using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
                var token = json.RootElement.GetProperty("access_token").GetString() ?? throw new InvalidOperationException("The token response has no access_token.");
                var seconds = json.RootElement.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var s) ? s : 300;
                return (token, TimeSpan.FromSeconds(Math.Max(seconds, 61)));
            }
        }
    }

    private static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;
}

/// <summary>The SMART Backend Services client assertion: a JWT signed with the source's private key (RS384 or ES384).</summary>
public static class SmartAssertion
{
    public static string Create(SourceAuthOptions auth, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(auth);
        var algorithm = auth.Algorithm.ToUpperInvariant();
        var header = new Dictionary<string, string> { ["alg"] = algorithm, ["typ"] = "JWT" };
        if (auth.KeyId is { Length: > 0 } kid)
        {
            header["kid"] = kid;
        }

        var payload = new Dictionary<string, object>
        {
            ["iss"] = auth.ClientId!,
            ["sub"] = auth.ClientId!,
            ["aud"] = auth.TokenUrl!.ToString(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString("N"),
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(payload));
        var data = Encoding.ASCII.GetBytes(signingInput);
        byte[] signature;
        switch (algorithm)
        {
            case "RS384":
                using (var rsa = RSA.Create())
                {
                    rsa.ImportFromPem(auth.PrivateKey);
                    signature = rsa.SignData(data, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1);
                }

                break;
            case "ES384":
                using (var ecdsa = ECDsa.Create())
                {
                    ecdsa.ImportFromPem(auth.PrivateKey);
                    signature = ecdsa.SignData(data, HashAlgorithmName.SHA384, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                }

                break;
            default:
                throw new InvalidOperationException("Auth:Algorithm must be RS384 or ES384.");
        }

        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
