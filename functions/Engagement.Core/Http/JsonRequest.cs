using Engagement.Intake;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Engagement.Http;

/// <summary>
/// Reads a plain-JSON request body (the channel gateways' and the preferences routes, not FHIR): declared length and
/// media type checked before reading (413, 415), the body read with the limit enforced while streaming (413), then
/// UTF-8 validity (400). Either the bytes or the refusal to answer.
/// </summary>
public static class JsonRequest
{
    public static async Task<(byte[]? Body, IResult? Refusal)> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !string.Equals(mediaType.MediaType.Value, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return (null, FhirResults.Outcome(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, "Send application/json."));
        }

        var body = await InboundGate.ReadBoundedAsync(request, maxBytes, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge(maxBytes));
        }

        return JsonBody.IsUtf8(body) ? (body, null) : (null, FhirResults.BadRequest("The body is not valid UTF-8."));
    }

    private static IResult TooLarge(long maxBytes) =>
        FhirResults.Outcome(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooLong, $"The body is larger than {maxBytes} bytes.");
}
