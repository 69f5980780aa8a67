using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Engagement.Http;
using Engagement.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Engagement.Intake;

/// <summary>An authenticated request's source and raw body (empty when none was sent).</summary>
public sealed record InboundBody(string SourceName, SourceOptions Source, byte[] Body);

/// <summary>
/// The door every EHR delivery passes, in this order, before anything parses the body: known source (404), bearer
/// secret in constant time (401), declared length (413), media type (415), the body read with the size limit enforced
/// while streaming (413), then the optional HMAC-SHA256 signature of the raw bytes (401).
/// </summary>
public sealed class InboundGate(SourceRegistry sources, IOptionsMonitor<IntakeOptions> options)
{
    public const string SignatureHeader = "X-Signature";

    public static readonly IReadOnlySet<string> FhirMediaTypes =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "application/fhir+json", "application/json" };

    public static readonly IReadOnlySet<string> EventMediaTypes =
        new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "application/json", "application/cloudevents+json", "application/cloudevents-batch+json" };

    /// <summary>The authenticated body, or the refusal to return.</summary>
    public async Task<(InboundBody? Body, IResult? Refusal)> ReceiveAsync(
        HttpRequest request, string sourceName, IReadOnlySet<string> mediaTypes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(mediaTypes);
        if (Authenticate(request, sourceName, out var source) is { } denied)
        {
            return (null, denied);
        }

        var max = options.CurrentValue.MaxBodyBytes;
        if (request.ContentLength > max)
        {
            return (null, TooLarge(max));
        }

        if (!string.IsNullOrEmpty(request.ContentType) && !MediaTypeAllowed(request.ContentType, mediaTypes))
        {
            return (null, UnsupportedMediaType(mediaTypes));
        }

        var body = await ReadBoundedAsync(request, max, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge(max));
        }

        if (body.Length > 0 && string.IsNullOrEmpty(request.ContentType))
        {
            return (null, UnsupportedMediaType(mediaTypes));
        }

        if (source!.HmacKey is { Length: > 0 } key && !SignatureMatches(request.Headers[SignatureHeader].ToString(), key, body))
        {
            return (null, FhirResults.Unauthorized($"The {SignatureHeader} header must be the hex HMAC-SHA256 of the body."));
        }

        return (new InboundBody(sourceName, source, body), null);
    }

    /// <summary>Known source and bearer secret; null when the caller may proceed.</summary>
    public IResult? Authenticate(HttpRequest request, string sourceName, out SourceOptions? source)
    {
        ArgumentNullException.ThrowIfNull(request);
        source = sources.Find(sourceName);
        if (source is null)
        {
            return FhirResults.NotFound($"Unknown source '{Truncate(sourceName)}'.");
        }

        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return FhirResults.Unauthorized("This route requires Authorization: Bearer with the source's inbound secret.");
        }

        if (string.IsNullOrEmpty(source.InboundSecret) || !AdminKeyAuthorizer.FixedTimeEquals(header["Bearer ".Length..].Trim(), source.InboundSecret))
        {
            return FhirResults.Unauthorized("The bearer token is not valid for this source.");
        }

        return null;
    }

    public static bool SignatureMatches(string presented, string key, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(presented);
        var hex = presented.Trim();
        if (hex.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex["sha256=".Length..];
        }

        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), body);
        byte[] actual;
        try
        {
            actual = Convert.FromHexString(hex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null as soon as the body proves longer (never buffers more).</summary>
    internal static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, long max, CancellationToken cancellationToken)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit && (limit.MaxRequestBodySize ?? 0) < max + 1)
        {
            limit.MaxRequestBodySize = max + 1;
        }

        var initial = (int)Math.Min(request.ContentLength ?? 16 * 1024, max + 1);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 1024));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                int read;
                try
                {
                    read = await request.Body.ReadAsync(buffer.AsMemory(length, (int)Math.Min(buffer.Length - length, max + 1 - length)), cancellationToken);
                }
                catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return null;
                }

                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }

                length += read;
                if (length > max)
                {
                    return null;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool MediaTypeAllowed(string contentType, IReadOnlySet<string> mediaTypes) =>
        MediaTypeHeaderValue.TryParse(contentType, out var mediaType) && mediaType.MediaType.Value is { } value && mediaTypes.Contains(value);

    private static IResult UnsupportedMediaType(IReadOnlySet<string> mediaTypes) =>
        FhirResults.Outcome(StatusCodes.Status415UnsupportedMediaType, Hl7.Fhir.Model.OperationOutcome.IssueType.NotSupported,
            $"Content-Type must be one of {string.Join(", ", mediaTypes.Order(StringComparer.Ordinal))} (any charset).");

    private static IResult TooLarge(long max) => FhirResults.Outcome(StatusCodes.Status413PayloadTooLarge, Hl7.Fhir.Model.OperationOutcome.IssueType.TooLong,
        $"The body is larger than the limit of {max} bytes.");

    internal static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
