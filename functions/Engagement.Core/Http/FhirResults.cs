using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Http;

/// <summary>HTTP results carrying FHIR resources; every error is an OperationOutcome.</summary>
public static class FhirResults
{
    public static IResult Resource(Resource resource, int statusCode = StatusCodes.Status200OK) =>
        new FhirResourceResult(resource, statusCode);

    public static IResult Outcome(
        int statusCode,
        OperationOutcome.IssueType code,
        string diagnostics,
        OperationOutcome.IssueSeverity severity = OperationOutcome.IssueSeverity.Error) =>
        new FhirResourceResult(CreateOutcome(code, diagnostics, severity), statusCode);

    public static OperationOutcome CreateOutcome(
        OperationOutcome.IssueType code,
        string diagnostics,
        OperationOutcome.IssueSeverity severity = OperationOutcome.IssueSeverity.Error) =>
        new()
        {
            Issue =
            [
                new OperationOutcome.IssueComponent { Severity = severity, Code = code, Diagnostics = diagnostics },
            ],
        };

    public static IResult BadRequest(string diagnostics) =>
        Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Invalid, diagnostics);

    public static IResult Unauthorized(string diagnostics = "Authentication is required.") =>
        Outcome(StatusCodes.Status401Unauthorized, OperationOutcome.IssueType.Login, diagnostics);

    public static IResult Forbidden(string diagnostics = "Not allowed.") =>
        Outcome(StatusCodes.Status403Forbidden, OperationOutcome.IssueType.Forbidden, diagnostics);

    public static IResult NotFound(string diagnostics) =>
        Outcome(StatusCodes.Status404NotFound, OperationOutcome.IssueType.NotFound, diagnostics);

    public static IResult Unprocessable(string diagnostics) =>
        Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Processing, diagnostics);

    public static IResult Unavailable(string diagnostics) =>
        Outcome(StatusCodes.Status503ServiceUnavailable, OperationOutcome.IssueType.Transient, diagnostics);

    private sealed class FhirResourceResult(Resource resource, int statusCode) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = statusCode;
            httpContext.Response.ContentType = FhirJson.MediaType + "; charset=utf-8";
            if (statusCode == StatusCodes.Status503ServiceUnavailable)
            {
                httpContext.Response.Headers.RetryAfter = "5";
            }

            await httpContext.Response.Body.WriteAsync(FhirJson.SerializeToUtf8Bytes(resource), httpContext.RequestAborted);
        }
    }
}
