using System.Buffers;
using System.Text;
using System.Text.Json;
using Engagement.Http;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Validation;
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

    /// <summary>
    /// The resource, or the error to answer. <c>Invalid</c> is set when the resource was read but breaks the base
    /// specification's rules (cardinality, codes): the caller answers 422 with it and stores nothing.
    /// </summary>
    public static async Task<(Resource? Resource, IResult? Error, OperationOutcome? Invalid)> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !(contentType.MediaType.Equals(FhirJson.MediaType, StringComparison.OrdinalIgnoreCase)
                 || contentType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)))
        {
            return (null, UnsupportedMediaType($"The body must be {FhirJson.MediaType} or application/json."), null);
        }

        // Encoding is null for a charset .NET does not know (it does not throw).
        var encoding = contentType.Charset.HasValue ? contentType.Encoding : Encoding.UTF8;
        if (encoding is null)
        {
            return (null, UnsupportedMediaType($"charset '{contentType.Charset}' is not supported."), null);
        }

        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge(), null);
        }

        var body = await ReadLimitedAsync(request.Body, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge(), null);
        }

        if (body.Length == 0)
        {
            return (null, FhirResults.BadRequest("The request body is empty."), null);
        }

        if (encoding.CodePage != Encoding.UTF8.CodePage)
        {
            body = Encoding.UTF8.GetBytes(encoding.GetString(body));
        }

        var json = body.AsMemory();
        if (json.Span.StartsWith(Encoding.UTF8.Preamble))
        {
            json = json[Encoding.UTF8.Preamble.Length..]; // a byte-order mark is allowed; the JSON reader does not skip it
        }

        if (!JsonBody.IsUtf8(json.Span))
        {
            return (null, FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, "The body is not valid UTF-8."), null);
        }

        if (JsonBody.FirstToken(json.Span) != JsonTokenType.StartObject)
        {
            return (null, FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, "The body is not a JSON object, so not a FHIR resource."), null);
        }

        try
        {
            var resource = JsonSerializer.Deserialize<Resource>(json.Span, FhirJson.Options);
            return resource is null ? (null, FhirResults.BadRequest("The body is not a FHIR resource."), null) : (resource, null, null);
        }
        catch (DeserializationFailedException ex) when (ex.PartialResult is Resource partial && ex.Exceptions.All(IsRuleViolation))
        {
            // Well-formed FHIR that breaks the base specification's rules (a missing required element, an unknown
            // code): the caller gets 422 listing them, after the definition's own checks have added theirs.
            return (partial, null, Issues(ex, OperationOutcome.IssueType.Invalid));
        }
        catch (DeserializationFailedException ex)
        {
            return (null, FhirResults.Resource(Issues(ex, OperationOutcome.IssueType.Structure), StatusCodes.Status400BadRequest), null);
        }
        catch (JsonException ex)
        {
            return (null, FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, "The body is not valid FHIR JSON: " + ex.Message), null);
        }
        catch (InvalidOperationException)
        {
            // Firely's converter reports some shapes it cannot read (a token where none may stand) this way.
            return (null, FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Structure, "The body is not valid FHIR JSON."), null);
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

    /// <summary>
    /// A base-specification rule broken by otherwise well-formed FHIR: a missing required element, a code outside its
    /// value set, a badly formatted primitive. Unknown elements (PVAL128) and JSON of the wrong kind (PVAL123) are malformed.
    /// </summary>
    private static bool IsRuleViolation(Exception error) =>
        error is CodedValidationException { ErrorCode: not ("PVAL128" or "PVAL123") };

    private static OperationOutcome Issues(DeserializationFailedException ex, OperationOutcome.IssueType code)
    {
        var outcome = new OperationOutcome();
        foreach (var error in ex.Exceptions.Take(MaxListedErrors))
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = code,
                Diagnostics = error.Message,
            });
        }

        return outcome;
    }

    private static IResult UnsupportedMediaType(string diagnostics) =>
        FhirResults.Outcome(StatusCodes.Status415UnsupportedMediaType, OperationOutcome.IssueType.NotSupported, diagnostics);

    private static IResult TooLarge() =>
        FhirResults.Outcome(StatusCodes.Status413PayloadTooLarge, OperationOutcome.IssueType.TooCostly, $"The body exceeds {MaxBytes} bytes.");
}
