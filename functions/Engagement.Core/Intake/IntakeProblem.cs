using Engagement.Http;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;

namespace Engagement.Intake;

/// <summary>Why an input was refused: the status code and an OperationOutcome diagnostic naming the problem (no PHI).</summary>
public sealed record IntakeProblem(int StatusCode, OperationOutcome.IssueType Code, string Diagnostics)
{
    public static IntakeProblem Malformed(string diagnostics) => new(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, diagnostics);

    public static IntakeProblem Invalid(string diagnostics) => new(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Invalid, diagnostics);

    public IResult ToResult() => FhirResults.Outcome(StatusCode, Code, Diagnostics);
}
