using System.Net;
using System.Text;
using Engagement.Fhir;
using Engagement.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Fhir;

/// <summary>Admin PUT of definitions through the standalone host: status codes, versions, validation, nothing stored on rejection.</summary>
[Collection(HostCollection.Name)]
public sealed class FhirDefinitionWriteTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task Put_of_a_new_questionnaire_is_201_and_a_second_put_is_200_with_the_next_version()
    {
        var id = FhirApi.NewId("q");

        using var created = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("W/\"1\"", created.Headers.ETag?.ToString());
        Assert.EndsWith($"/api/fhir/Questionnaire/{id}/_history/1", created.Headers.Location?.ToString(), StringComparison.Ordinal);
        var stored = await FhirApi.ReadAsync<Questionnaire>(created);
        Assert.Equal("1", stored.Meta!.VersionId);
        Assert.NotNull(stored.Meta!.LastUpdated);

        var changed = FhirApi.NewQuestionnaire(id);
        changed.Title = "Mood check";
        using var updated = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", changed));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("W/\"2\"", updated.Headers.ETag?.ToString());
        Assert.Equal("2", (await FhirApi.ReadAsync<Questionnaire>(updated)).Meta!.VersionId);

        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("W/\"2\"", read.Headers.ETag?.ToString());
        Assert.Equal("Mood check", (await FhirApi.ReadAsync<Questionnaire>(read)).Title);
    }

    [Fact]
    public async Task Put_with_the_current_If_Match_succeeds_and_a_stale_one_is_412_and_changes_nothing()
    {
        var id = FhirApi.NewId("q");
        using (var created = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id))))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var matching = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id), "W/\"1\"")))
        {
            Assert.Equal(HttpStatusCode.OK, matching.StatusCode);
        }

        var stale = FhirApi.NewQuestionnaire(id);
        stale.Title = "must not be stored";
        using var rejected = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", stale, "W/\"1\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, rejected.StatusCode);
        Assert.NotEmpty((await FhirApi.ReadAsync<OperationOutcome>(rejected)).Issue);

        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        var current = await FhirApi.ReadAsync<Questionnaire>(read);
        Assert.Equal("2", current.Meta!.VersionId);
        Assert.Null(current.Title);
    }

    [Fact]
    public async Task Put_of_a_JSON_array_or_of_invalid_UTF8_is_400_and_stores_nothing()
    {
        // Both found by the fuzzer (were 503): Firely throws InvalidOperationException for an array at the root, and
        // invalid UTF-8 inside a string failed only when the value was read.
        var id = FhirApi.NewId("q");
        using var array = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", "application/fhir+json"));
        Assert.Equal(HttpStatusCode.BadRequest, array.StatusCode);
        Assert.Contains("not a JSON object", await array.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var bytes = Encoding.UTF8.GetBytes(Engagement.Http.FhirJson.Serialize(FhirApi.NewQuestionnaire(id)));
        bytes[Array.IndexOf(bytes, (byte)'Q', 20)] = 0xBC;
        using var request = FhirApi.Put($"Questionnaire/{id}", "{}", "application/fhir+json");
        request.Content = new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = new("application/fhir+json");
        using var utf8 = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, utf8.StatusCode);
        Assert.Contains("not valid UTF-8", await utf8.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Put_with_If_Match_on_an_id_that_does_not_exist_is_412()
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id), "W/\"1\""));
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Put_of_a_plan_definition_that_is_not_a_protocol_is_422_listing_every_problem_and_stores_nothing()
    {
        var id = FhirApi.NewId("pd");
        var plan = FhirApi.Protocol(id);
        plan.Url = null;
        plan.Action[0].Trigger.Clear();
        plan.Action[0].Action[0].Definition = new Canonical("http://engagement-functions.org/fhir/Library/not-content");

        using var response = await Client.SendAsync(FhirApi.Put($"PlanDefinition/{id}", plan));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var outcome = await FhirApi.ReadAsync<OperationOutcome>(response);
        var expressions = outcome.Issue.Where(i => i.Severity == OperationOutcome.IssueSeverity.Error).SelectMany(i => i.Expression).ToList();
        Assert.Contains("PlanDefinition.url", expressions);
        Assert.Contains("PlanDefinition.action[0].trigger", expressions);
        Assert.Contains(expressions, e => e!.StartsWith("PlanDefinition.action[0].action[0]", StringComparison.Ordinal));
        using var read = await Client.SendAsync(FhirApi.Get($"PlanDefinition/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Put_of_a_plan_definition_naming_an_unknown_activity_definition_is_422()
    {
        var id = FhirApi.NewId("pd");
        var plan = FhirApi.Protocol(id);
        plan.Action[0].Action[0].Definition = new Canonical("http://engagement-functions.org/fhir/ActivityDefinition/no-such-message");

        using var response = await Client.SendAsync(FhirApi.Put($"PlanDefinition/{id}", plan));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var outcome = await FhirApi.ReadAsync<OperationOutcome>(response);
        Assert.Contains(outcome.Issue, i => i.Diagnostics?.Contains("no-such-message", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task A_put_plan_definition_is_readable_and_is_a_protocol_in_the_catalog()
    {
        var id = FhirApi.NewId("pd");
        using (var put = await Client.SendAsync(FhirApi.Put($"PlanDefinition/{id}", FhirApi.Protocol(id))))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using var read = await Client.SendAsync(FhirApi.Get($"PlanDefinition/{id}"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(id, (await FhirApi.ReadAsync<PlanDefinition>(read)).Id);

        // Another instance over the same storage (as the follow-up engine would be) sees the run-time protocol.
        using var definitions = new FhirDefinitions(FhirApi.Store, TimeProvider.System, NullLogger<FhirDefinitions>.Instance);
        var catalog = new ProtocolCatalog(definitions, NullLogger<ProtocolCatalog>.Instance);
        var protocols = await catalog.GetProtocolsAsync(CancellationToken.None);
        var protocol = Assert.Single(protocols, p => p.Id == id);
        Assert.Equal(ProtocolTriggerKind.NamedEvent, Assert.Single(protocol.Triggers).Kind);
        Assert.Equal(id + "-start", protocol.Triggers[0].Name);
        Assert.Contains(protocols, p => p.Id == "post-discharge");
    }

    [Fact]
    public async Task Put_of_a_questionnaire_with_duplicate_linkIds_and_no_url_is_422_listing_both()
    {
        var id = FhirApi.NewId("q");
        var questionnaire = FhirApi.NewQuestionnaire(id);
        questionnaire.Url = null;
        questionnaire.Item[1].Item[0].LinkId = "mood";

        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", questionnaire));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var expressions = (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue.SelectMany(i => i.Expression).ToList();
        Assert.Contains("Questionnaire.url", expressions);
        Assert.Contains("Questionnaire.item[1].item[0].linkId", expressions);
        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Fact]
    public async Task Put_of_a_questionnaire_without_status_is_422()
    {
        var id = FhirApi.NewId("q");
        var json = $$"""{"resourceType":"Questionnaire","id":"{{id}}","url":"http://example.org/q/{{id}}","item":[{"linkId":"a","type":"string"}]}""";

        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", json, "application/json"));

        Assert.Equal((HttpStatusCode)422, response.StatusCode);
        var outcome = await FhirApi.ReadAsync<OperationOutcome>(response);
        Assert.Contains(outcome.Issue, i => i.Expression.Contains("Questionnaire.status"));
    }

    [Fact]
    public async Task Put_of_a_value_set_needs_a_compose_or_an_expansion()
    {
        var id = FhirApi.NewId("vs");
        var valueSet = new ValueSet { Id = id, Url = $"http://example.org/ValueSet/{id}", Status = PublicationStatus.Active };

        using (var rejected = await Client.SendAsync(FhirApi.Put($"ValueSet/{id}", valueSet)))
        {
            Assert.Equal((HttpStatusCode)422, rejected.StatusCode);
            Assert.Contains((await FhirApi.ReadAsync<OperationOutcome>(rejected)).Issue, i => i.Expression.Contains("ValueSet.compose"));
        }

        valueSet.Compose = new ValueSet.ComposeComponent { Include = [new ValueSet.ConceptSetComponent { System = "http://loinc.org" }] };
        using var created = await Client.SendAsync(FhirApi.Put($"ValueSet/{id}", valueSet));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var read = await Client.SendAsync(FhirApi.Get($"ValueSet/{id}"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/fhir+xml")]
    [InlineData("application/fhir+json; charset=no-such-charset")]
    public async Task Put_with_a_body_that_is_not_fhir_json_is_415(string mediaType)
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", "{}", mediaType));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.NotEmpty((await FhirApi.ReadAsync<OperationOutcome>(response)).Issue);
    }

    [Fact]
    public async Task Put_accepts_application_json_with_a_charset()
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", Engagement.Http.FhirJson.Serialize(FhirApi.NewQuestionnaire(id)), "application/json; charset=UTF-8"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task Put_reads_a_body_in_the_charset_it_names()
    {
        var id = FhirApi.NewId("q");
        var questionnaire = FhirApi.NewQuestionnaire(id);
        questionnaire.Title = "¿Cómo está?";
        var request = FhirApi.Put($"Questionnaire/{id}", questionnaire);
        request.Content = new ByteArrayContent([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Engagement.Http.FhirJson.Serialize(questionnaire))]);
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("application/fhir+json; charset=utf-16");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("¿Cómo está?", (await FhirApi.ReadAsync<Questionnaire>(response)).Title);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Put_of_a_body_over_one_megabyte_is_413_whether_or_not_its_length_is_announced(bool chunked)
    {
        var id = FhirApi.NewId("q");
        var questionnaire = FhirApi.NewQuestionnaire(id);
        questionnaire.Description = new string('x', 1_100_000);
        var request = FhirApi.Put($"Questionnaire/{id}", questionnaire);
        var bytes = await request.Content!.ReadAsByteArrayAsync();
        request.Content = chunked ? new StreamContent(new NoLengthStream(bytes)) : new ByteArrayContent(bytes);
        request.Content.Headers.ContentType = new("application/fhir+json");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.NotEmpty((await FhirApi.ReadAsync<OperationOutcome>(response)).Issue);
        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    [Theory]
    [InlineData("{\"resourceType\":\"Questionnaire\",")]
    [InlineData("not json")]
    [InlineData("{\"resourceType\":\"Questionnaire\",\"id\":\"ID\",\"status\":\"active\",\"notAnElement\":1}")]
    [InlineData("")]
    public async Task Put_of_a_malformed_body_is_400(string body)
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", body.Replace("ID", id, StringComparison.Ordinal), "application/fhir+json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotEmpty((await FhirApi.ReadAsync<OperationOutcome>(response)).Issue);
    }

    [Fact]
    public async Task Put_with_an_id_that_differs_from_the_url_is_400()
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id + "-other")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var outcome = await FhirApi.ReadAsync<OperationOutcome>(response);
        Assert.Contains(outcome.Issue, i => i.Diagnostics?.Contains("does not match", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Put_of_another_resource_type_than_the_url_names_is_400()
    {
        var id = FhirApi.NewId("q");
        using var response = await Client.SendAsync(FhirApi.Put($"PlanDefinition/{id}", FhirApi.NewQuestionnaire(id)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Put_of_a_type_the_engine_writes_itself_is_405()
    {
        var id = FhirApi.NewId("t");
        var task = new Hl7.Fhir.Model.Task { Id = id, Status = Hl7.Fhir.Model.Task.TaskStatus.Ready, Intent = Hl7.Fhir.Model.Task.TaskIntent.Order };
        using var response = await Client.SendAsync(FhirApi.Put($"Task/{id}", task));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Fact]
    public async Task Put_without_the_admin_key_is_401_and_stores_nothing()
    {
        var id = FhirApi.NewId("q");
        var request = FhirApi.Put($"Questionnaire/{id}", FhirApi.NewQuestionnaire(id));
        request.Headers.Remove("X-Admin-Key");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.Login, (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Code);
        using var read = await Client.SendAsync(FhirApi.Get($"Questionnaire/{id}"));
        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
    }

    /// <summary>A stream without a length, so HttpClient sends the body chunked.</summary>
    private sealed class NoLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
