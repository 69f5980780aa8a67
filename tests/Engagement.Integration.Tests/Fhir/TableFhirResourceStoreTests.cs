using Azure;
using Engagement.Fhir;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Fhir;

/// <summary>
/// The resource store remembers the rows it wrote or read, so a replace needs no read and no index write. Two stores
/// (two instances) writing the same resource must still lose nothing: versions count every write, the ETag check still
/// refuses a stale If-Match, and a resource moved to another patient is found under that patient.
/// </summary>
public sealed class TableFhirResourceStoreTests
{
    private static TableFhirResourceStore NewStore() => new(TestEnvironment.StorageClients(), TimeProvider.System);

    private static Observation NewObservation(string id, string value) => new()
    {
        Id = id,
        Status = ObservationStatus.Final,
        Code = new CodeableConcept("http://loinc.org", "44261-6"),
        Value = new FhirString(value),
    };

    [Fact]
    public async Task Two_instances_writing_one_resource_count_every_version_and_lose_no_write()
    {
        var (one, two) = (NewStore(), NewStore());
        var id = FhirApi.NewId("obs");
        var patient = FhirApi.NewId("pat");

        for (var i = 1; i <= 6; i++)
        {
            var stored = await (i % 2 == 1 ? one : two).PutAsync(NewObservation(id, "v" + i), patient, CancellationToken.None);
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), stored.Resource.Meta!.VersionId);
        }

        // Concurrent writes from both: each one is a version of its own.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => (i % 2 == 0 ? one : two).PutAsync(NewObservation(id, "c" + i), patient, CancellationToken.None))));
        var last = await NewStore().GetAsync("Observation", id, CancellationToken.None);
        Assert.Equal("16", last!.Resource.Meta!.VersionId);
        Assert.Equal(id, Assert.Single(await NewStore().SearchByPatientAsync("Observation", patient, CancellationToken.None)).Resource.Id);
    }

    [Fact]
    public async Task A_stale_if_match_is_refused_even_when_this_instance_remembers_the_row()
    {
        var (one, two) = (NewStore(), NewStore());
        var id = FhirApi.NewId("obs");
        var first = await one.PutAsync(NewObservation(id, "a"), "p1", CancellationToken.None);
        await two.PutAsync(NewObservation(id, "b"), "p1", CancellationToken.None); // another instance writes since

        var refused = await Assert.ThrowsAsync<RequestFailedException>(() => one.PutAsync(NewObservation(id, "c"), "p1", CancellationToken.None, first.ETag));
        Assert.Equal(412, refused.Status);
        var now = (Observation)(await one.GetAsync("Observation", id, CancellationToken.None))!.Resource;
        Assert.Equal("b", ((FhirString)now.Value!).Value);

        // The current ETag is accepted.
        var current = await one.GetAsync("Observation", id, CancellationToken.None);
        var written = await one.PutAsync(NewObservation(id, "d"), "p1", CancellationToken.None, current!.ETag);
        Assert.Equal("3", written.Resource.Meta!.VersionId);
    }

    [Fact]
    public async Task A_resource_moved_to_another_patient_is_found_under_that_patient_and_exists_answers_for_other_instances_writes()
    {
        var (one, two) = (NewStore(), NewStore());
        var id = FhirApi.NewId("obs");
        var (p1, p2) = (FhirApi.NewId("pat"), FhirApi.NewId("pat"));
        await one.PutAsync(NewObservation(id, "a"), p1, CancellationToken.None);
        await one.PutAsync(NewObservation(id, "b"), p2, CancellationToken.None);

        Assert.Empty(await two.SearchByPatientAsync("Observation", p1, CancellationToken.None));
        Assert.Equal(id, Assert.Single(await two.SearchByPatientAsync("Observation", p2, CancellationToken.None)).Resource.Id);

        Assert.True(await two.ExistsAsync("Observation", id, CancellationToken.None)); // written by the other instance
        Assert.False(await two.ExistsAsync("Observation", FhirApi.NewId("obs"), CancellationToken.None));
        var (created, isNew) = await two.CreateIfNotExistsAsync(NewObservation(FhirApi.NewId("obs"), "n"), p1, CancellationToken.None);
        Assert.True(isNew);
        Assert.True(await one.ExistsAsync("Observation", created.Resource.Id!, CancellationToken.None));
    }
}
