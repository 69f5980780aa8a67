using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>Collects what is wrong with a protocol resource, each problem with the FHIRPath of the element at fault.</summary>
internal sealed class ProtocolProblems
{
    private readonly OperationOutcome outcome = new();

    public bool HasErrors => outcome.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);

    public void Error(string expression, string message, OperationOutcome.IssueType code = OperationOutcome.IssueType.Invalid) =>
        Add(OperationOutcome.IssueSeverity.Error, code, expression, message);

    public void Required(string expression, string message) =>
        Add(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.Required, expression, message);

    public void NotSupported(string expression, string message) =>
        Add(OperationOutcome.IssueSeverity.Error, OperationOutcome.IssueType.NotSupported, expression, message);

    public void Warning(string expression, string message) =>
        Add(OperationOutcome.IssueSeverity.Warning, OperationOutcome.IssueType.Informational, expression, message);

    public ProtocolReadResult Result(Func<ProtocolDefinition> build) =>
        HasErrors ? new ProtocolReadResult(null, outcome) : new ProtocolReadResult(build(), outcome);

    private void Add(OperationOutcome.IssueSeverity severity, OperationOutcome.IssueType code, string expression, string message) =>
        outcome.Issue.Add(new OperationOutcome.IssueComponent
        {
            Severity = severity,
            Code = code,
            Diagnostics = message,
            Expression = [expression],
        });
}
