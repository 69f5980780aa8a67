using Hl7.Fhir.Model;

namespace Engagement.FollowUp.Engine;

/// <summary>Where the engine finds the patient's demographics and contact preferences.</summary>
public interface IPatientDirectory
{
    Task<Patient?> FindAsync(string source, string patientId, CancellationToken cancellationToken);
}

/// <summary>Issues the engagement link for a questionnaire activity (signed, expiring, single-use).</summary>
public interface IFollowUpLinks
{
    Task<Uri> IssueAsync(string patientId, string taskId, string questionnaireCanonical, string instanceId, DateTimeOffset expiresAt, CancellationToken cancellationToken);
}

/// <summary>The patient's consent to outreach (an opt-out is honoured by every protocol at once).</summary>
public interface IOutreachConsent
{
    Task<bool> IsOptedOutAsync(string patientId, CancellationToken cancellationToken);
}
