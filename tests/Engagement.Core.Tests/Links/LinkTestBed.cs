using Engagement.Hosting;
using Engagement.Links;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Core.Tests.Links;

/// <summary>An issuer and a validator over one in-memory store, a fake clock and changeable link keys.</summary>
internal sealed class LinkTestBed
{
    public const string SecretA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-secret-A";
    public const string SecretB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-secret-B";

    public LinkTestBed()
    {
        Options = new LinkOptions
        {
            Keys = [new LinkSigningKey { Id = "k1", Secret = SecretA }],
            ActiveKeyId = "k1",
        };
        var links = new Monitor<LinkOptions>(() => Options);
        var engagement = new Monitor<EngagementOptions>(() => new EngagementOptions { PublicBaseUrl = new Uri("https://engage.example.org/") });
        var keys = new LinkKeyRing(links);
        Issuer = new LinkIssuer(Store, keys, links, engagement, Clock, NullLogger<LinkIssuer>.Instance);
        Validator = new LinkValidator(Store, keys, Clock, NullLogger<LinkValidator>.Instance);
    }

    public LinkOptions Options { get; set; }

    public InMemoryLinkStore Store { get; } = new();

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero));

    public LinkIssuer Issuer { get; }

    public LinkValidator Validator { get; }

    public Task<IssuedLink> IssueAsync(TimeSpan? lifetime = null) =>
        Issuer.IssueAsync(new LinkIssueRequest("patient-4711", "task-99", "http://engagement-functions.org/fhir/Questionnaire/phq-9", "followup-abc", lifetime), CancellationToken.None);

    private sealed class Monitor<T>(Func<T> value) : IOptionsMonitor<T>
    {
        public T CurrentValue => value();

        public T Get(string? name) => value();

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
