using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Engagement.Security.Smart;

/// <summary>An issuer's endpoints, from <c>/.well-known/openid-configuration</c> or <c>/.well-known/smart-configuration</c>.</summary>
public sealed record SmartDiscovery(string Issuer, Uri JwksUri, string? AuthorizationEndpoint, string? TokenEndpoint, string? RegistrationEndpoint, string? IntrospectionEndpoint, string? RevocationEndpoint, string? ManagementEndpoint);

/// <summary>The issuer's discovery document or JWKS could not be fetched and nothing usable is cached.</summary>
public sealed class SmartIssuerUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Discovery documents and signing keys of the configured issuers, cached per issuer for
/// <see cref="SmartOptions.KeyCacheLifetime"/>. A token with an unknown <c>kid</c> triggers a refresh (the issuer
/// rotated keys), at most once per <see cref="SmartOptions.MinimumKeyRefreshInterval"/>. Only RSA and EC signature
/// keys are kept: a symmetric (<c>oct</c>) key in a JWKS is ignored.
/// </summary>
public sealed class SmartIssuerDirectory(
    IHttpClientFactory httpClientFactory,
    IOptionsMonitor<SmartOptions> options,
    TimeProvider clock,
    ILogger<SmartIssuerDirectory> logger)
{
    public const string HttpClientName = "smart-issuers";
    private readonly ConcurrentDictionary<string, IssuerState> states = new(StringComparer.Ordinal);

    public async Task<SmartDiscovery> GetDiscoveryAsync(string issuer, CancellationToken cancellationToken)
    {
        var state = await EnsureAsync(issuer, kid: null, cancellationToken);
        return state.Discovery!;
    }

    /// <summary>The issuer's signing keys; fetched again first when stale, or when <paramref name="kid"/> is not among them (rate-limited).</summary>
    public async Task<IReadOnlyList<SecurityKey>> GetSigningKeysAsync(string issuer, string? kid, CancellationToken cancellationToken)
    {
        var state = await EnsureAsync(issuer, kid, cancellationToken);
        return state.Keys;
    }

    private async Task<IssuerState> EnsureAsync(string issuer, string? kid, CancellationToken cancellationToken)
    {
        var state = states.GetOrAdd(issuer, _ => new IssuerState());
        if (!NeedsRefresh(state, kid))
        {
            return state;
        }

        await state.Gate.WaitAsync(cancellationToken);
        try
        {
            if (NeedsRefresh(state, kid))
            {
                await RefreshAsync(issuer, state, cancellationToken);
            }
        }
        finally
        {
            state.Gate.Release();
        }

        return state.Discovery is not null
            ? state
            : throw new SmartIssuerUnavailableException($"The keys of issuer {issuer} are not available.");
    }

    private bool NeedsRefresh(IssuerState state, string? kid)
    {
        var now = clock.GetUtcNow();
        var current = options.CurrentValue;
        var mayRefresh = now - state.LastAttempt >= current.MinimumKeyRefreshInterval;
        if (state.Discovery is null)
        {
            // Never fetched, or every fetch failed: retry, but not on every request while the issuer is down.
            return state.LastAttempt == DateTimeOffset.MinValue || mayRefresh;
        }

        if (now - state.FetchedAt >= current.KeyCacheLifetime)
        {
            return mayRefresh;
        }

        return kid is not null && !state.Keys.Any(k => string.Equals(k.KeyId, kid, StringComparison.Ordinal)) && mayRefresh;
    }

    private async Task RefreshAsync(string issuer, IssuerState state, CancellationToken cancellationToken)
    {
        state.LastAttempt = clock.GetUtcNow();
        try
        {
            var client = httpClientFactory.CreateClient(HttpClientName);
            var discovery = await DiscoverAsync(client, issuer, cancellationToken);
            var jwks = await client.GetStringAsync(discovery.JwksUri, cancellationToken);
            var keys = new JsonWebKeySet(jwks).Keys
                .Where(k => k.Kty is JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve)
                .Where(k => string.IsNullOrEmpty(k.Use) || k.Use == JsonWebKeyUseNames.Sig)
                .Cast<SecurityKey>()
                .ToList();
            state.Discovery = discovery;
            state.Keys = keys;
            state.FetchedAt = clock.GetUtcNow();
            logger.LogInformation("Fetched {KeyCount} signing keys of SMART issuer {Issuer}", keys.Count, issuer);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or ArgumentException or InvalidOperationException)
        {
            // Keep what we had: a token signed with a known key still validates while the issuer is unreachable.
            logger.LogWarning(e, "Could not fetch the discovery document or JWKS of SMART issuer {Issuer}", issuer);
        }
    }

    private static async Task<SmartDiscovery> DiscoverAsync(HttpClient client, string issuer, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var path in new[] { "/.well-known/openid-configuration", "/.well-known/smart-configuration" })
        {
            var url = new Uri(issuer.TrimEnd('/') + path);
            using var response = await client.GetAsync(url, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                failures.Add($"{path}: {(int)response.StatusCode}");
                continue;
            }

            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            var root = document.RootElement;
            var documentIssuer = String(root, "issuer");
            if (documentIssuer is not null && documentIssuer.TrimEnd('/') != issuer.TrimEnd('/'))
            {
                throw new InvalidOperationException($"{path} names issuer {documentIssuer}, not {issuer}.");
            }

            if (!Uri.TryCreate(String(root, "jwks_uri"), UriKind.Absolute, out var jwks) || (jwks.Scheme != Uri.UriSchemeHttps && jwks.Scheme != Uri.UriSchemeHttp))
            {
                failures.Add($"{path}: no jwks_uri");
                continue;
            }

            return new SmartDiscovery(
                issuer,
                jwks,
                String(root, "authorization_endpoint"),
                String(root, "token_endpoint"),
                String(root, "registration_endpoint"),
                String(root, "introspection_endpoint"),
                String(root, "revocation_endpoint"),
                String(root, "management_endpoint"));
        }

        throw new InvalidOperationException("No usable discovery document: " + string.Join(", ", failures));
    }

    private static string? String(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private sealed class IssuerState
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public SmartDiscovery? Discovery { get; set; }

        public IReadOnlyList<SecurityKey> Keys { get; set; } = [];

        public DateTimeOffset FetchedAt { get; set; }

        public DateTimeOffset LastAttempt { get; set; } = DateTimeOffset.MinValue;
    }
}
