using Engagement.Security.Smart;
using Engagement.Testing.Smart;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Core.Tests.Smart;

public sealed class SmartTokenValidatorTests
{
    private const string Scope = "launch/patient openid patient/QuestionnaireResponse.cru patient/Questionnaire.rs";
    private readonly StubIssuer issuer = new();
    private readonly FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private readonly SmartOptions options = new()
    {
        Issuers = [new SmartIssuerOptions { Issuer = StubIssuer.Issuer, Audience = StubIssuer.Audience }],
        MinimumKeyRefreshInterval = TimeSpan.FromSeconds(30),
    };

    private readonly TestSigningKey rsa = TestSigningKey.Rsa256("rsa-1");
    private readonly SmartTokenValidator validator;

    public SmartTokenValidatorTests()
    {
        issuer.Keys.Add(rsa);
        var monitor = new StaticMonitor(options);
        var directory = new SmartIssuerDirectory(issuer, monitor, clock, NullLogger<SmartIssuerDirectory>.Instance);
        validator = new SmartTokenValidator(directory, monitor, NullLogger<SmartTokenValidator>.Instance);
    }

    [Fact]
    public async Task A_valid_RS256_token_gives_the_patient_context_and_scopes()
    {
        var result = await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, patient: "p1"));

        Assert.Null(result.Failure);
        Assert.Equal("p1", result.Access!.PatientId);
        Assert.Equal(StubIssuer.Issuer, result.Access.Issuer);
        Assert.True(result.Access.Allows("QuestionnaireResponse", SmartInteraction.Create));
        Assert.False(result.Access.Allows("QuestionnaireResponse", SmartInteraction.Delete));
    }

    [Theory]
    [InlineData("RS384")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    public async Task Tokens_signed_with_the_other_allowed_algorithms_are_accepted(string algorithm)
    {
        var key = algorithm switch
        {
            "RS384" => TestSigningKey.Rsa256("k-" + algorithm, "RS384"),
            "ES256" => TestSigningKey.EcP256("k-" + algorithm),
            _ => TestSigningKey.EcP384("k-" + algorithm),
        };
        issuer.Keys.Add(key);

        var result = await ValidateAsync(SmartTestTokens.Create(key, StubIssuer.Issuer, StubIssuer.Audience, Scope, patient: "p1"));

        Assert.Null(result.Failure);
    }

    [Fact]
    public async Task An_RS512_token_is_refused_because_the_algorithm_is_not_allowed()
    {
        var key = TestSigningKey.Rsa256("rs512", "RS512");
        issuer.Keys.Add(key);

        var result = await ValidateAsync(SmartTestTokens.Create(key, StubIssuer.Issuer, StubIssuer.Audience, Scope, patient: "p1"));

        Assert.Equal("The access token's signing algorithm is not accepted.", result.Failure);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var token = SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1", notBefore: now.AddHours(-1), expires: now.AddMinutes(-5));

        Assert.Equal("The access token has expired.", (await ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task A_token_expired_within_the_clock_skew_is_still_accepted()
    {
        var now = DateTimeOffset.UtcNow;
        var token = SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1", notBefore: now.AddHours(-1), expires: now.AddSeconds(-20));

        Assert.Null((await ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task A_token_not_valid_before_a_future_time_is_refused()
    {
        var now = DateTimeOffset.UtcNow;
        var token = SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1", notBefore: now.AddMinutes(10), expires: now.AddMinutes(30));

        Assert.Equal("The access token is not valid yet.", (await ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused()
    {
        var token = SmartTestTokens.Create(rsa, StubIssuer.Issuer, "https://other.example.org/fhir", Scope, "p1");

        Assert.Equal("The access token is for another audience.", (await ValidateAsync(token)).Failure);
    }

    [Fact]
    public async Task A_token_from_an_issuer_that_is_not_configured_is_refused_without_fetching_anything()
    {
        var token = SmartTestTokens.Create(rsa, "https://evil.example.org/auth", StubIssuer.Audience, Scope, "p1");

        Assert.Equal("The access token's issuer is not accepted.", (await ValidateAsync(token)).Failure);
        Assert.Equal(0, issuer.JwksRequests);
    }

    [Fact]
    public async Task A_token_signed_by_another_key_under_a_published_kid_is_refused()
    {
        var impostor = TestSigningKey.Rsa256("rsa-1");

        var result = await ValidateAsync(SmartTestTokens.Create(impostor, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.Equal("The access token's signature is not valid.", result.Failure);
    }

    [Fact]
    public async Task An_unknown_kid_is_refused_and_a_key_rotation_at_the_issuer_is_picked_up_on_refresh()
    {
        Assert.Null((await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"))).Failure);
        var rotated = TestSigningKey.Rsa256("rsa-2");
        var token = SmartTestTokens.Create(rotated, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1");

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("The access token is signed with an unknown key.", (await ValidateAsync(token)).Failure);

        issuer.Keys.Add(rotated);
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Null((await ValidateAsync(token)).Failure);
        Assert.Equal(3, issuer.JwksRequests);
    }

    [Fact]
    public async Task Refreshes_for_unknown_kids_are_rate_limited()
    {
        Assert.Null((await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"))).Failure);
        var junk = SmartTestTokens.Create(TestSigningKey.Rsa256("junk"), StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1");

        for (var i = 0; i < 5; i++)
        {
            Assert.NotNull((await ValidateAsync(junk)).Failure);
        }

        Assert.Equal(1, issuer.JwksRequests);
        clock.Advance(TimeSpan.FromSeconds(31));
        await ValidateAsync(junk);
        Assert.Equal(2, issuer.JwksRequests);
    }

    [Fact]
    public async Task Cached_keys_are_fetched_again_after_the_cache_lifetime()
    {
        await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));
        clock.Advance(options.KeyCacheLifetime + TimeSpan.FromSeconds(1));

        await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.Equal(2, issuer.JwksRequests);
    }

    [Fact]
    public async Task An_unsigned_alg_none_token_is_refused()
    {
        var result = await ValidateAsync(SmartTestTokens.AlgNone(StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.NotNull(result.Failure);
        Assert.Null(result.Access);
    }

    [Fact]
    public async Task An_HS256_token_keyed_with_the_issuers_public_key_is_refused()
    {
        var result = await ValidateAsync(SmartTestTokens.Hs256WithPublicKey(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.Equal("The access token's signing algorithm is not accepted.", result.Failure);
    }

    [Fact]
    public async Task An_HS256_token_verifiable_with_a_symmetric_key_published_in_the_JWKS_is_refused()
    {
        var secret = new byte[32];
        issuer.ExtraJwks.Add(new Dictionary<string, string> { ["kty"] = "oct", ["kid"] = "oct-1", ["k"] = System.Buffers.Text.Base64Url.EncodeToString(secret) });

        var result = await ValidateAsync(SmartTestTokens.Hs256(secret, "oct-1", StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.NotNull(result.Failure);
    }

    [Fact]
    public async Task A_token_without_an_expiry_is_refused()
    {
        var token = SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1", expires: DateTimeOffset.MaxValue);
        // DateTimeOffset.MaxValue is far in the future, not absent: build one without exp by hand instead.
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        var noExp = handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = StubIssuer.Issuer,
            Audience = StubIssuer.Audience,
            Claims = new Dictionary<string, object> { ["scope"] = Scope, ["patient"] = "p1" },
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(rsa.PrivateKey, rsa.Algorithm),
        });

        Assert.Null((await ValidateAsync(token)).Failure);
        Assert.Equal("The access token has no expiry.", (await ValidateAsync(noExp)).Failure);
    }

    [Fact]
    public async Task Discovery_falls_back_to_the_smart_configuration_document()
    {
        issuer.ServeOpenIdConfiguration = false;

        var result = await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.Null(result.Failure);
    }

    [Fact]
    public async Task An_unreachable_issuer_without_cached_keys_means_try_again_later()
    {
        issuer.Down = true;

        var result = await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.True(result.IssuerUnavailable);
        Assert.Null(result.Access);
    }

    [Fact]
    public async Task Cached_keys_keep_working_while_the_issuer_is_unreachable()
    {
        await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));
        issuer.Down = true;
        clock.Advance(options.KeyCacheLifetime + TimeSpan.FromSeconds(1));

        var result = await ValidateAsync(SmartTestTokens.Create(rsa, StubIssuer.Issuer, StubIssuer.Audience, Scope, "p1"));

        Assert.Null(result.Failure);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not.a.jwt")]
    [InlineData("abc")]
    public async Task Garbage_is_refused(string token)
    {
        Assert.NotNull((await ValidateAsync(token)).Failure);
    }

    private Task<SmartTokenResult> ValidateAsync(string token) => validator.ValidateAsync(token, CancellationToken.None);

    private sealed class StaticMonitor(SmartOptions value) : IOptionsMonitor<SmartOptions>
    {
        public SmartOptions CurrentValue => value;

        public SmartOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<SmartOptions, string?> listener) => null;
    }
}
