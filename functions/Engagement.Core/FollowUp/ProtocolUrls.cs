namespace Engagement.FollowUp;

/// <summary>Canonical URLs of the protocol conventions (docs/fhir-conventions.md).</summary>
public static class ProtocolUrls
{
    public const string Base = "http://engagement-functions.org/fhir";

    public const string TimingAnchor = Base + "/StructureDefinition/timing-anchor";
    public const string StopWhen = Base + "/StructureDefinition/stop-when";
    public const string LinkLifetime = Base + "/StructureDefinition/link-lifetime";
    public const string ResponseWindow = Base + "/StructureDefinition/response-window";
    public const string ReminderPolicy = Base + "/StructureDefinition/reminder-policy";
    public const string Escalation = Base + "/StructureDefinition/escalation";
    public const string AppointmentReply = Base + "/StructureDefinition/appointment-reply";

    public const string PreferredChannel = Base + "/StructureDefinition/preferred-channel";
    public const string ContactWindow = Base + "/StructureDefinition/contact-window";
    public const string TimeZoneCode = "http://hl7.org/fhir/StructureDefinition/tz-code";

    public const string MessageCodeSystem = Base + "/CodeSystem/engagement-message";
    public const string ChannelCodeSystem = Base + "/CodeSystem/engagement-channel";

    public const string Ucum = "http://unitsofmeasure.org";
    public const string FhirPathLanguage = "text/fhirpath";
}
