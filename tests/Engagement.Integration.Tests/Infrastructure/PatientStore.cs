using Azure.Data.Tables;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>
/// Intake processes its queue concurrently, so a Patient the EHR sends just before an Encounter can be processed
/// after it, and the run's first send then finds no contact details ("no-channel": see docs/reliability.md).
/// Tests that are not about that ordering wait until the Patient is stored before sending the trigger.
/// </summary>
public static class PatientStore
{
    public static async Task WaitUntilStoredAsync(string patientId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, "FhirResources");
        await table.CreateIfNotExistsAsync();
        await Poll.UntilAsync(
            async () => (await table.GetEntityIfExistsAsync<TableEntity>("Patient", patientId, ["RowKey"])).HasValue,
            stored => stored,
            TimeSpan.FromSeconds(90),
            $"Patient {patientId} to be stored by intake");
    }
}
