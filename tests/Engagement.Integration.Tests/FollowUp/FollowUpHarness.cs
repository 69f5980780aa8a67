using Engagement.Durable;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Hosting;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// The follow-up orchestration on the real Durable Task engine (the in-process test host's in-memory backend) with
/// the product's own services over the test Azurite. A protocol day lasts <see cref="SecondsPerDay"/> seconds.
/// </summary>
public sealed class FollowUpHarness : IAsyncDisposable
{
    public const double SecondsPerDay = 0.5;

    private readonly DurableTaskTestHost host;

    private FollowUpHarness(DurableTaskTestHost host) => this.host = host;

    public DurableTaskClient Client => host.Client;

    public IServiceProvider Services => host.Services;

    public IFhirResourceStore Store => Services.GetRequiredService<IFhirResourceStore>();

    /// <summary>
    /// Now on the product's clock (its injected <see cref="TimeProvider"/>). The durable engine's timers run on real
    /// time, so discharge instants and response times in these tests are taken from the same clock the product reads.
    /// </summary>
    public DateTimeOffset Now => Services.GetRequiredService<TimeProvider>().GetUtcNow();

    public FollowUpStarter Starter => Services.GetRequiredService<FollowUpStarter>();

    public OutboxStore Outbox => Services.GetRequiredService<OutboxStore>();

    public static async Task<FollowUpHarness> StartAsync(double secondsPerDay = SecondsPerDay)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString,
            ["Engagement:SecondsPerDay"] = secondsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Engagement:PublicBaseUrl"] = "https://engage.example.test",
            ["Engagement:Links:ActiveKeyId"] = "k1",
            ["Engagement:Links:Keys:0:Id"] = "k1",
            ["Engagement:Links:Keys:0:Secret"] = "follow-up-tests-signing-key-0123456789abcdef",
            ["Engagement:FollowUp:TimeZone"] = "America/New_York",
            // Whole-day window: the protocol clock is shrunk, quiet hours are covered by the scheduler's unit tests.
            ["Engagement:FollowUp:ContactWindowStart"] = "00:00",
            ["Engagement:FollowUp:ContactWindowEnd"] = "23:59",
            ["Engagement:Outbox:QueueName"] = "outreach-" + Guid.NewGuid().ToString("N")[..10],
            // Its own outbox table: other test hosts' dispatchers drain the default one.
            ["Engagement:Outbox:TableName"] = "Outbox" + Guid.NewGuid().ToString("N")[..12],
        }).Build();
        var host = await DurableTaskTestHost.StartAsync(DurableTaskCatalog.Register, new DurableTaskTestHostOptions
        {
            // The package otherwise picks a random port in 30000-40000, which can collide on a busy machine.
            Port = TestEnvironment.FreeTcpPort(),
            ConfigureServices = services =>
            {
                services.AddSingleton<IConfiguration>(configuration);
                services.AddLogging();
                services.AddEngagementCore(configuration);
                // The dispatch loop is exercised elsewhere; here the outbox rows themselves are the evidence.
                var loop = services.Single(d => d.ImplementationType == typeof(OutboxDispatchLoop));
                services.Remove(loop);
            },
        });
        return new FollowUpHarness(host);
    }

    public static Patient Patient(string id, string language = "en", string? phone = "+15555550123") => new()
    {
        Id = id,
        Telecom = phone is null ? [] : [new ContactPoint(ContactPoint.ContactPointSystem.Sms, ContactPoint.ContactPointUse.Mobile, phone)],
        Communication = [new Patient.CommunicationComponent { Language = new CodeableConcept("urn:ietf:bcp:47", language), Preferred = true }],
    };

    public static Encounter InpatientDischarge(string id, string patientId, DateTimeOffset end) => new()
    {
        Id = id,
        Status = Encounter.EncounterStatus.Finished,
        Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP"),
        Subject = new ResourceReference("Patient/" + patientId),
        Period = new Period { StartElement = new FhirDateTime(end.AddDays(-3)), EndElement = new FhirDateTime(end) },
    };

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    public async Task<OrchestrationMetadata> WaitForCompletionAsync(string instanceId, int seconds = 120)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
    }

    public async Task<OrchestrationMetadata> WaitForStateAsync(string instanceId, Func<FollowUpStatus?, bool> done, int seconds = 60) =>
        await Poll.UntilAsync(
            async () => (await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))!,
            m => m is not null && done(m.ReadCustomStatusAs<FollowUpStatus>()),
            TimeSpan.FromSeconds(seconds),
            "follow-up state");

    public async Task<List<T>> ForPatientAsync<T>(string patientId)
        where T : Resource =>
        [.. (await Store.SearchByPatientAsync(typeof(T).Name, patientId, default)).Select(s => s.Resource).OfType<T>()];

    public async Task<List<OutreachMessage>> MessagesForAsync(string instanceId)
    {
        var messages = new List<OutreachMessage>();
        for (var shard = 0; shard < OutboxStore.ShardCount; shard++)
        {
            messages.AddRange((await Outbox.GetPendingAsync(shard, 1000, default)).Select(e => e.Message).Where(m => m.InstanceId == instanceId));
        }

        return messages;
    }

    public ValueTask DisposeAsync() => host.DisposeAsync();
}
