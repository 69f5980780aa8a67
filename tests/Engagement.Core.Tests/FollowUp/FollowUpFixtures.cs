using System.Text.Json;
using Engagement.FollowUp;
using Engagement.Http;
using Hl7.Fhir.Model;

namespace Engagement.Core.Tests.FollowUp;

/// <summary>FHIR JSON fixtures of this folder and the protocols shipped in the repository's fhir-profiles/.</summary>
internal static class FollowUpFixtures
{
    public const string CanonicalBase = "http://engagement-functions.org/fhir";

    public static T Load<T>(string fileName)
        where T : Resource =>
        Parse<T>(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "FollowUp", "Fixtures", fileName)));

    public static T Parse<T>(string json)
        where T : Resource =>
        JsonSerializer.Deserialize<T>(json, FhirJson.Options) ?? throw new InvalidOperationException("Empty FHIR JSON.");

    public static string RepoRoot { get; } = FindRepoRoot();

    public static string ProfilesDirectory => Path.Combine(RepoRoot, "fhir-profiles");

    public static T LoadProfile<T>(string fileName)
        where T : Resource =>
        Parse<T>(File.ReadAllText(Path.Combine(ProfilesDirectory, fileName)));

    public static PlanDefinition ShippedPlan(string id) => LoadProfile<PlanDefinition>($"PlanDefinition-{id}.json");

    /// <summary>Resolves ActivityDefinition canonicals against the shipped files.</summary>
    public static ActivityDefinition? ResolveShippedActivityDefinition(string canonical) =>
        Directory.GetFiles(ProfilesDirectory, "ActivityDefinition-*.json")
            .Select(f => Parse<ActivityDefinition>(File.ReadAllText(f)))
            .FirstOrDefault(a => a.Url == canonical.Split('|')[0]);

    public static ProtocolDefinition ShippedProtocol(string id) =>
        ProtocolDefinition.FromPlanDefinition(ShippedPlan(id), ResolveShippedActivityDefinition).GetProtocolOrThrow();

    public static TimeZoneInfo Zone(string ianaId) => TimeZoneInfo.FindSystemTimeZoneById(ianaId);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(dir.FullName, "fhir-profiles")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Repository root (with fhir-profiles/) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>Variations of a Patient for preference tests.</summary>
internal sealed class PatientBuilder
{
    private readonly Patient patient = new() { Id = "pat-b" };

    public PatientBuilder WithTimeZone(string ianaId)
    {
        patient.SetExtension(ProtocolUrls.TimeZoneCode, new Code(ianaId));
        return this;
    }

    public PatientBuilder WithContactWindow(string start, string end)
    {
        var extension = new Extension { Url = ProtocolUrls.ContactWindow };
        extension.Extension.Add(new Extension("start", new Time(start)));
        extension.Extension.Add(new Extension("end", new Time(end)));
        patient.Extension.Add(extension);
        return this;
    }

    public PatientBuilder WithPreferredChannel(string channel)
    {
        patient.SetExtension(ProtocolUrls.PreferredChannel, new Code(channel));
        return this;
    }

    public PatientBuilder WithTelecom(ContactPoint.ContactPointSystem system, ContactPoint.ContactPointUse? use, int? rank, string value = "x")
    {
        patient.Telecom.Add(new ContactPoint { System = system, Use = use, Rank = rank, Value = value });
        return this;
    }

    public PatientBuilder WithLanguage(string code, bool preferred)
    {
        patient.Communication.Add(new Patient.CommunicationComponent
        {
            Language = new CodeableConcept("urn:ietf:bcp:47", code),
            Preferred = preferred,
        });
        return this;
    }

    public Patient Build() => patient;
}

/// <summary>A valid protocol PlanDefinition (a copy of the shipped post-discharge one) to break in one place at a time.</summary>
internal sealed class PlanDefinitionBuilder
{
    private readonly PlanDefinition plan = FollowUpFixtures.ShippedPlan("post-discharge");

    public PlanDefinition.ActionComponent Root => plan.Action[0];

    public PlanDefinition.ActionComponent Activity(int index) => plan.Action[0].Action[index];

    public PlanDefinitionBuilder With(Action<PlanDefinition> change)
    {
        change(plan);
        return this;
    }

    public PlanDefinition Build() => plan;
}
