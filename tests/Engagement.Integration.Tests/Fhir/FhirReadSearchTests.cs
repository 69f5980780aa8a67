using System.Net;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using FhirTask = Hl7.Fhir.Model.Task;

namespace Engagement.Integration.Tests.Fhir;

/// <summary>Reads and searches through the standalone host, over resources seeded into the store the engine writes to.</summary>
[Collection(HostCollection.Name)]
public sealed class FhirReadSearchTests(HostFixture fixture)
{
    private HttpClient Client => fixture.Host.Client;

    private static FhirTask NewTask(string patientId, FhirTask.TaskStatus status) => new()
    {
        Id = FhirApi.NewId("task"),
        Status = status,
        Intent = FhirTask.TaskIntent.Order,
        For = new ResourceReference($"Patient/{patientId}"),
    };

    private static async Task<T> SeedAsync<T>(T resource, string patientId)
        where T : Resource
    {
        await FhirApi.Store.PutAsync(resource, patientId, CancellationToken.None);
        return resource;
    }

    public static TheoryData<string> ShippedDefinitions()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(TestEnvironment.RepoRoot, "fhir-profiles"), "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            if (Engagement.Fhir.FhirResourceTypes.Definitions.Contains(name.Split('-', 2)[0]))
            {
                data.Add(name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ShippedDefinitions))]
    public async Task Every_shipped_definition_is_readable_by_id(string fileName)
    {
        var type = fileName.Split('-', 2)[0];
        var id = fileName.Split('-', 2)[1];

        using var response = await Client.SendAsync(FhirApi.Get($"{type}/{id}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var resource = await FhirApi.ReadAsync<Resource>(response);
        Assert.Equal(type, resource.TypeName);
        Assert.Equal(id, resource.Id);
        Assert.Equal($"http://engagement-functions.org/fhir/{type}/{id}", Engagement.Fhir.Canonicals.Of(resource).Url);
    }

    [Fact]
    public void The_shipped_package_holds_plan_definitions()
    {
        Assert.Contains(ShippedDefinitions().Cast<object[]>(), row => ((string)row[0]).StartsWith("PlanDefinition-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Searching_tasks_by_patient_returns_only_that_patients_tasks_as_a_searchset()
    {
        var patient = FhirApi.NewId("pat");
        var ready = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Ready), patient);
        var done = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Completed), patient);
        var other = FhirApi.NewId("pat");
        await SeedAsync(NewTask(other, FhirTask.TaskStatus.Ready), other);

        using var response = await Client.SendAsync(FhirApi.Get($"Task?patient={patient}"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(response);
        Assert.Equal(Bundle.BundleType.Searchset, bundle.Type);
        Assert.Equal(2, bundle.Total);
        Assert.Equal(new[] { done.Id, ready.Id }.Order(StringComparer.Ordinal), bundle.Entry.Select(e => e.Resource!.Id).Order(StringComparer.Ordinal));
        Assert.All(bundle.Entry, entry =>
        {
            Assert.Equal($"{fixture.Host.BaseAddress.ToString().TrimEnd('/')}/api/fhir/Task/{entry.Resource!.Id}", entry.FullUrl);
            Assert.Equal(Bundle.SearchEntryMode.Match, entry.Search!.Mode);
        });
        var self = Assert.Single(bundle.Link, l => l.Relation == "self");
        Assert.EndsWith($"/api/fhir/Task?patient={patient}", self.Url, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("patient=Patient/{0}")]
    [InlineData("subject=Patient/{0}")]
    [InlineData("patient={0}&_format=json")]
    public async Task Patient_reference_forms_find_the_same_tasks(string query)
    {
        var patient = FhirApi.NewId("pat");
        var task = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Requested), patient);

        using var response = await Client.SendAsync(FhirApi.Get("Task?" + string.Format(System.Globalization.CultureInfo.InvariantCulture, query, patient)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(response);
        Assert.Equal(task.Id, Assert.Single(bundle.Entry).Resource!.Id);
        Assert.Equal(1, bundle.Total);
    }

    [Fact]
    public async Task Status_filters_tasks_and_a_comma_means_any_of()
    {
        var patient = FhirApi.NewId("pat");
        var ready = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Ready), patient);
        var inProgress = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.InProgress), patient);
        await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Completed), patient);

        using var one = await Client.SendAsync(FhirApi.Get($"Task?patient={patient}&status=ready"));
        var readyOnly = await FhirApi.ReadAsync<Bundle>(one);
        Assert.Equal(ready.Id, Assert.Single(readyOnly.Entry).Resource!.Id);
        Assert.Contains("status=ready", readyOnly.Link[0].Url, StringComparison.Ordinal);

        using var two = await Client.SendAsync(FhirApi.Get($"Task?patient={patient}&status=ready,in-progress"));
        var either = await FhirApi.ReadAsync<Bundle>(two);
        Assert.Equal(new[] { ready.Id, inProgress.Id }.Order(StringComparer.Ordinal), either.Entry.Select(e => e.Resource!.Id).Order(StringComparer.Ordinal));
    }

    public static TheoryData<string> CompartmentTypes() =>
        [.. Engagement.Fhir.FhirResourceTypes.PatientCompartment.Keys.Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(CompartmentTypes))]
    public async Task Every_patient_compartment_type_is_readable_by_id_and_searchable_by_patient(string type)
    {
        var patient = FhirApi.NewId("pat");
        var other = FhirApi.NewId("pat");
        var mine = await SeedAsync(NewResource(type, patient), patient);
        await SeedAsync(NewResource(type, other), other);

        using var search = await Client.SendAsync(FhirApi.Get($"{type}?patient=Patient/{patient}"));
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(search);
        Assert.Equal(mine.Id, Assert.Single(bundle.Entry).Resource!.Id);

        using var read = await Client.SendAsync(FhirApi.Get($"{type}/{mine.Id}"));
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("W/\"1\"", read.Headers.ETag?.ToString());
        Assert.Equal(mine.Id, (await FhirApi.ReadAsync<Resource>(read)).Id);
    }

    [Theory]
    [MemberData(nameof(CompartmentTypes))]
    public async Task Searching_a_patient_compartment_type_without_a_patient_is_400(string type)
    {
        using var response = await Client.SendAsync(FhirApi.Get(type));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("patient", (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Diagnostics, StringComparison.Ordinal);

        using var statusOnly = await Client.SendAsync(FhirApi.Get($"{type}?status=active"));
        Assert.Equal(HttpStatusCode.BadRequest, statusOnly.StatusCode);
    }

    [Theory]
    [InlineData("Task?patient=p1&code=abc", "code")]
    [InlineData("Task?patient=p1&_count=10", "_count")]
    [InlineData("Task?patient=p1&status:not=ready", "status:not")]
    [InlineData("Consent?subject=Patient/p1", "subject")]
    public async Task An_unsupported_search_parameter_is_400_naming_it(string query, string parameter)
    {
        using var response = await Client.SendAsync(FhirApi.Get(query));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains($"'{parameter}'", (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_lenient_handling_an_unsupported_parameter_is_ignored_and_left_out_of_the_self_link()
    {
        var patient = FhirApi.NewId("pat");
        await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Ready), patient);
        var request = FhirApi.Get($"Task?patient={patient}&_count=10");
        request.Headers.Add("Prefer", "handling=lenient");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(response);
        Assert.Single(bundle.Entry);
        Assert.DoesNotContain("_count", bundle.Link[0].Url, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("subject=Group/g1")]
    [InlineData("patient=p1,p2")]
    [InlineData("patient=p1&subject=Patient/p2")]
    public async Task A_search_that_is_not_about_one_patient_is_400(string query)
    {
        using var response = await Client.SendAsync(FhirApi.Get("Task?" + query));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("Patient/p1")]
    [InlineData("Encounter/e1")]
    [InlineData("Patient?name=x")]
    public async Task An_unknown_resource_type_is_404(string path)
    {
        using var response = await Client.SendAsync(FhirApi.Get(path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.NotFound, (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Code);
    }

    [Theory]
    [InlineData("Task")]
    [InlineData("Questionnaire")]
    [InlineData("PlanDefinition")]
    public async Task An_unknown_id_is_404(string type)
    {
        using var response = await Client.SendAsync(FhirApi.Get($"{type}/{FhirApi.NewId("missing")}"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.NotFound, (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Code);
    }

    [Theory]
    [InlineData("PlanDefinition/post-discharge")]
    [InlineData("Task?patient=p1")]
    [InlineData("Task/some-task")]
    [InlineData("Task")]
    [InlineData("NoSuchType/1")]
    public async Task Without_the_admin_key_every_fhir_request_is_401(string path)
    {
        using var response = await Client.GetAsync(new Uri("/api/fhir/" + path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(OperationOutcome.IssueType.Login, (await FhirApi.ReadAsync<OperationOutcome>(response)).Issue[0].Code);
    }

    [Fact]
    public async Task A_stored_task_is_not_readable_without_the_admin_key()
    {
        var patient = FhirApi.NewId("pat");
        var task = await SeedAsync(NewTask(patient, FhirTask.TaskStatus.Ready), patient);
        using var response = await Client.GetAsync(new Uri($"/api/fhir/Task/{task.Id}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Definitions_are_searchable_by_canonical_url()
    {
        using var response = await Client.SendAsync(FhirApi.Get("PlanDefinition?url=http://engagement-functions.org/fhir/PlanDefinition/post-discharge|1.0.0"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(response);
        Assert.Equal("post-discharge", Assert.Single(bundle.Entry).Resource!.Id);
    }

    private static Resource NewResource(string type, string patientId)
    {
        var id = FhirApi.NewId(type.ToLowerInvariant());
        var patient = new ResourceReference($"Patient/{patientId}");
        return type switch
        {
            "Task" => new FhirTask { Id = id, Status = FhirTask.TaskStatus.Ready, Intent = FhirTask.TaskIntent.Order, For = patient },
            "CarePlan" => new CarePlan { Id = id, Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = patient },
            "Communication" => new Communication { Id = id, Status = EventStatus.Completed, Subject = patient },
            "QuestionnaireResponse" => new QuestionnaireResponse { Id = id, Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed, Subject = patient },
            "Observation" => new Observation { Id = id, Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "44261-6"), Subject = patient },
            "Flag" => new Flag { Id = id, Status = Flag.FlagStatus.Active, Code = new CodeableConcept("http://example.org", "x"), Subject = patient },
            "Consent" => new Consent
            {
                Id = id,
                Status = Consent.ConsentState.Active,
                Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
                Category = [new CodeableConcept("http://loinc.org", "59284-0")],
                Patient = patient,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
        };
    }
}
