using System.Text.Json;
using System.Text.RegularExpressions;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Intake;
using Engagement.Security;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Engagement.Conversations;

/// <summary>
/// <c>POST /api/inbound/{channel}</c>: patient replies and delivery receipts from a channel gateway. The door, in this
/// order before the body is parsed: known channel (404), bearer secret in constant time (401), size (413), media type
/// (415); then the shape (400 malformed, 422 invalid). A redelivery (same provider message id) gets the first answer
/// again and changes nothing; a 2xx is given only after everything is stored.
/// </summary>
public sealed partial class InboundHandler(
    IConfiguration configuration,
    ConversationStore conversations,
    ReplyProcessor replies,
    ReceiptProcessor receipts,
    TimeProvider time,
    ILogger<InboundHandler> logger)
{
    public const long MaxBodyBytes = 64 * 1024;

    public async Task<IResult> PostAsync(HttpRequest request, string channel, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var secret = ChannelName().IsMatch(channel) ? configuration[$"Engagement:Channels:{channel}:InboundSecret"] : null;
        if (string.IsNullOrEmpty(secret))
        {
            return FhirResults.NotFound($"Unknown channel '{InboundGate.Truncate(channel)}'.");
        }

        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            || !AdminKeyAuthorizer.FixedTimeEquals(header["Bearer ".Length..].Trim(), secret))
        {
            return FhirResults.Unauthorized("This route requires Authorization: Bearer with the channel's inbound secret.");
        }

        var (body, refusal) = await JsonRequest.ReadAsync(request, MaxBodyBytes, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        var (message, malformed, invalid) = InboundMessage.Parse(body!);
        if (malformed is not null)
        {
            return FhirResults.BadRequest(malformed);
        }

        if (invalid is not null)
        {
            return FhirResults.Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Required, invalid);
        }

        var key = ConversationStore.AnswerKey(message!);
        if (await conversations.FindAnswerAsync(channel, key, cancellationToken) is { } earlier)
        {
            logger.LogInformation("Inbound {Type} on {Channel} was a redelivery; answered as before", message!.Type, channel);
            return Json(earlier);
        }

        var result = message!.IsReceipt
            ? await receipts.ApplyAsync(channel, message, cancellationToken)
            : await replies.HandleAsync(channel, message, client, cancellationToken);
        if (result.Problem is { } problem)
        {
            return FhirResults.Resource(problem, result.StatusCode);
        }

        var answer = await conversations.SaveAnswerAsync(channel, key, new InboundAnswer(result.StatusCode, JsonSerializer.Serialize(result.Body)), time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Inbound {Type} on {Channel}: {Outcome}", message.Type, channel, result.Body?.GetValueOrDefault("outcome"));
        return Json(answer);
    }


    private static IResult Json(InboundAnswer answer) => Results.Content(answer.Body, "application/json", statusCode: answer.StatusCode);

    [GeneratedRegex("^[a-z0-9-]{1,32}$")]
    private static partial Regex ChannelName();
}

/// <summary>What processing an inbound message came to: a JSON body to store and replay, or an OperationOutcome.</summary>
public sealed record InboundResult(int StatusCode, Dictionary<string, string?>? Body, OperationOutcome? Problem)
{
    public static InboundResult Ok(Dictionary<string, string?> body) => new(StatusCodes.Status200OK, body, null);

    public static InboundResult Unprocessable(string diagnostics) => new(StatusCodes.Status422UnprocessableEntity, null,
        FhirResults.CreateOutcome(OperationOutcome.IssueType.NotFound, diagnostics));
}
