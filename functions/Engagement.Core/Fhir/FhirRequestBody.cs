using System.Buffers;
using System.Text;
using System.Text.Json;
using Engagement.Http;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Engagement.Fhir;

/// <summary>
/// Reads a FHIR JSON request body: <c>application/fhir+json</c> or <c>application/json</c> with any supported
/// charset (else 415), at most <see cref="MaxBytes"/> (413, checked while reading, so a large body is never
/// buffered), valid JSON and FHIR (else 400).
/// </summary>
public static class FhirRequestBody
{
    public const int MaxBytes = 1024 * 1024;

    private const int MaxListedErrors = 20;

    public static async Task<(Resource? Resource, IResult? Error)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !(contentType.MediaType.Equals(FhirJson.MediaType, StringComparison.OrdinalIgnoreCase)
                 || contentType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
        {
            return (null, UnsupportedMediaType($"The body must be {FhirJson.MediaType} or application/json."));
        }

        Encoding encoding;
        try
        {
            encoding = contentType.Encoding ?? Encoding.UTF8;
        }
        catch (ArgumentException)
        {
            return (null, UnsupportedMediaType($"charset '{contentType.Charset}' is not supported."));
        }

        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge());
        }

        var body = await ReadLimitedAsync(request.Body, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge());
        }

        if (body.Length == 0)
        {
            return (null, FhirResults.BadRequest("The request body is empty."));
        }

        if (encoding.CodePage != Encoding.UTF8.CodePage)
        {
            body = Encoding.UTF8.GetBytes(encoding.GetString(body));
        }

        try
        {
            var resource = JsonSerializer.Deserialize<Resource>(body, FhirJson.Options);
            return resource is null ? (null, FhirResults.BadRequest("The body is not a FHIR resource.")) : (resource, null);
        }
        catch (DeserializationFailedException ex)
        {
            var outcome = new OperationOutcome();
            foreach (var error in ex.Exceptions.Take(MaxListedErrors))
            {
                outcome.Issue.Add(new OperationOutcome.IssueComponent
                {
                    Severity = OperationOutcome.IssueSeverity.Error,
                    Code = OperationOutcome.IssueType.Structure,
                    Diagnostics = error.Message,
                });
            }

            return (null, FhirResults.Resource(outcome, StatusCodes.Status400BadRequest));
        }
        catch (JsonException ex)
        {
            return (null, FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, "The body is not valid FHIR JSON: " + ex.Message));
        }
    }

    /// <summary>The body, or null when it exceeds <see cref="MaxBytes"/> (reading stops there).</summary>
    private static async Task<byte[]?> ReadLimitedAsync(Stream body, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    private static IResult UnsupportedMediaType(string diagnostics) =>
        FhirResults.Outcome(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, diagnostics);

    private static IResult TooLarge() =>
        FhirResults.Outcome(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooCostly, $"The body exceeds {MaxBytes} bytes.");
}
