using Engagement.FollowUp.Engine;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// The run history the care team reads (<c>GET /api/followups/{id}</c>) on Azurite. The engine runs activities at
/// least once — a host killed after an activity ran but before its completion was recorded runs it again — so what
/// happens once per step is written once: a killed host resumed a run and its history showed the check-in sent twice.
/// </summary>
public sealed class FollowUpHistoryTests
{
    private readonly FollowUpIndex index = new(new StorageClients(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString })
        .Build()), Microsoft.Extensions.Options.Options.Create(new FollowUpStartOptions()), TimeProvider.System);

    [Fact]
    public async Task A_step_written_again_by_a_re_run_activity_stays_one_line_and_the_history_is_in_time_order()
    {
        var instance = "fu-history-" + Guid.NewGuid().ToString("N")[..10];
        var t0 = new DateTimeOffset(2026, 11, 24, 9, 0, 0, TimeSpan.Zero);

        await index.AppendAsync(instance, t0, "planned", null, "3 activities", default);
        await index.AppendOnceAsync(instance, t0.AddMinutes(2), "sent", "checkin-1", "0", "sms/en", default);
        await index.AppendOnceAsync(instance, t0.AddMinutes(1), "patient-unknown-never", "x", "0", null, default);
        await index.AppendOnceAsync(instance, t0.AddMinutes(9), "sent", "checkin-1", "0", "sms/en", default); // the re-run
        await index.AppendOnceAsync(instance, t0.AddMinutes(5), "reminded", "checkin-1", "1", "sms/en", default);
        await index.AppendOnceAsync(instance, t0.AddMinutes(6), "reminded", "checkin-1", "2", "sms/en", default);

        var history = await index.HistoryAsync(instance, default);
        Assert.Equal(["planned", "patient-unknown-never", "sent", "reminded", "reminded"], history.Select(h => h.Kind!));
        Assert.Equal(t0.AddMinutes(2), history.Single(h => h.Kind == "sent").At); // the first write wins
    }
}
