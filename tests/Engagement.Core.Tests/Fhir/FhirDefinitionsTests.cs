using Engagement.Core.Tests.FollowUp;
using Engagement.Fhir;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Core.Tests.Fhir;

public sealed class FhirDefinitionsTests : IDisposable
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly InMemoryFhirResourceStore store;
    private readonly FhirDefinitions definitions;

    public FhirDefinitionsTests()
    {
        store = new InMemoryFhirResourceStore(time);
        definitions = NewInstance();
    }

    public void Dispose() => definitions.Dispose();

    private FhirDefinitions NewInstance() =>
        new(store, time, NullLogger<FhirDefinitions>.Instance, FollowUpFixtures.ProfilesDirectory);

    private static Questionnaire NewQuestionnaire(string id, string version = "1.0.0") => new()
    {
        Id = id,
        Url = "http://example.org/Questionnaire/mood",
        Version = version,
        Status = PublicationStatus.Active,
        Item = [new Questionnaire.ItemComponent { LinkId = "a", Type = Questionnaire.QuestionnaireItemType.String }],
    };

    [Fact]
    public async Task Shipped_definitions_are_found_by_id_and_by_canonical_with_or_without_version()
    {
        Assert.NotNull(await definitions.GetAsync("PlanDefinition", "post-discharge", CancellationToken.None));
        const string Url = FollowUpFixtures.CanonicalBase + "/ActivityDefinition/checkin";
        Assert.Equal("checkin", (await definitions.ResolveAsync<ActivityDefinition>(Url, CancellationToken.None))?.Id);
        Assert.Equal("checkin", (await definitions.ResolveAsync<ActivityDefinition>(Url + "|1.0.0", CancellationToken.None))?.Id);
        Assert.Null(await definitions.ResolveAsync<ActivityDefinition>(Url + "|9.9.9", CancellationToken.None));
        Assert.Null(await definitions.ResolveAsync<PlanDefinition>(Url, CancellationToken.None));
    }

    [Fact]
    public async Task A_stored_definition_replaces_the_shipped_one_with_the_same_id()
    {
        var plan = FollowUpFixtures.ShippedPlan("post-discharge");
        plan.Title = "Changed at run time";

        var saved = await definitions.SaveAsync(plan, null, CancellationToken.None);

        Assert.Equal(DefinitionSaveStatus.Saved, saved.Status);
        Assert.True(saved.Existed, "the shipped resource was already readable under that id");
        var read = (PlanDefinition?)await definitions.GetAsync("PlanDefinition", "post-discharge", CancellationToken.None);
        Assert.Equal("Changed at run time", read?.Title);
        Assert.Equal("Changed at run time", (await definitions.ResolveAsync<PlanDefinition>(plan.Url!, CancellationToken.None))?.Title);
    }

    [Fact]
    public async Task Without_a_version_the_canonical_resolves_to_the_latest_version()
    {
        await definitions.SaveAsync(NewQuestionnaire("mood-v9", "1.9.0"), null, CancellationToken.None);
        await definitions.SaveAsync(NewQuestionnaire("mood-v10", "1.10.0"), null, CancellationToken.None);

        Assert.Equal("mood-v10", (await definitions.ResolveAsync<Questionnaire>("http://example.org/Questionnaire/mood", CancellationToken.None))?.Id);
        Assert.Equal("mood-v9", (await definitions.ResolveAsync<Questionnaire>("http://example.org/Questionnaire/mood|1.9.0", CancellationToken.None))?.Id);
    }

    [Fact]
    public async Task Another_instance_sees_a_stored_definition_once_its_cache_expires()
    {
        using var other = NewInstance();
        Assert.Null(await other.GetAsync("Questionnaire", "mood", CancellationToken.None)); // caches "no such questionnaire"

        await definitions.SaveAsync(NewQuestionnaire("mood"), null, CancellationToken.None);
        Assert.NotNull(await definitions.GetAsync("Questionnaire", "mood", CancellationToken.None)); // the writer sees it at once
        Assert.Null(await other.GetAsync("Questionnaire", "mood", CancellationToken.None));

        time.Advance(FhirDefinitions.CacheLifetime);
        Assert.NotNull(await other.GetAsync("Questionnaire", "mood", CancellationToken.None));
    }

    [Fact]
    public async Task Reads_within_the_cache_lifetime_do_not_query_storage_again()
    {
        await definitions.GetAsync("Questionnaire", "x", CancellationToken.None);
        var calls = store.ListCalls;

        await definitions.GetAsync("Questionnaire", "y", CancellationToken.None);
        await definitions.ListAsync("PlanDefinition", CancellationToken.None);

        Assert.Equal(calls, store.ListCalls);
    }

    [Fact]
    public async Task Changed_is_raised_on_a_save_and_when_a_refresh_finds_another_instances_write()
    {
        using var other = NewInstance();
        await other.GetAsync("Questionnaire", "mood", CancellationToken.None);
        var here = 0;
        var there = 0;
        definitions.Changed += (_, _) => here++;
        other.Changed += (_, _) => there++;

        await definitions.SaveAsync(NewQuestionnaire("mood"), null, CancellationToken.None);
        Assert.Equal(1, here);

        time.Advance(FhirDefinitions.CacheLifetime);
        await other.GetAsync("Questionnaire", "mood", CancellationToken.None);
        Assert.Equal(1, there);

        time.Advance(FhirDefinitions.CacheLifetime);
        await other.GetAsync("Questionnaire", "mood", CancellationToken.None);
        Assert.Equal(1, there); // nothing new
    }

    [Fact]
    public async Task If_Match_must_name_the_current_version()
    {
        await definitions.SaveAsync(NewQuestionnaire("mood"), null, CancellationToken.None);

        var stale = await definitions.SaveAsync(NewQuestionnaire("mood"), "2", CancellationToken.None);
        var current = await definitions.SaveAsync(NewQuestionnaire("mood"), "1", CancellationToken.None);

        Assert.Equal(DefinitionSaveStatus.PreconditionFailed, stale.Status);
        Assert.Equal("1", stale.CurrentVersion);
        Assert.Equal(DefinitionSaveStatus.Saved, current.Status);
        Assert.Equal("2", current.Resource?.Meta?.VersionId);
    }

    [Fact]
    public async Task The_protocol_catalog_holds_shipped_and_stored_plans_and_leaves_out_retired_ones()
    {
        var catalog = new ProtocolCatalog(definitions, NullLogger<ProtocolCatalog>.Instance);
        var shipped = await catalog.GetProtocolsAsync(CancellationToken.None);
        Assert.Equal(["appointment-reminder", "depression-monitoring", "post-discharge"], shipped.Select(p => p.Id).Order(StringComparer.Ordinal));
        var checkin = shipped.Single(p => p.Id == "post-discharge").Activities[0];
        Assert.Equal("checkin", checkin.Content.MessageTemplateCode); // ActivityDefinitions resolved from the catalog

        var added = FollowUpFixtures.ShippedPlan("depression-monitoring");
        added.Id = "depression-monitoring-2";
        added.Url += "-2";
        await definitions.SaveAsync(added, null, CancellationToken.None);
        var retired = FollowUpFixtures.ShippedPlan("appointment-reminder");
        retired.Status = PublicationStatus.Retired;
        await definitions.SaveAsync(retired, null, CancellationToken.None);

        var now = await catalog.GetProtocolsAsync(CancellationToken.None);
        Assert.Equal(["depression-monitoring", "depression-monitoring-2", "post-discharge"], now.Select(p => p.Id).Order(StringComparer.Ordinal));
    }
}
