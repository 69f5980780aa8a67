using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Engagement.Outreach;
using Engagement.Storage.AzureStorage;

namespace Engagement.Conversations;

/// <summary>An answer already given to one inbound request, replayed on redelivery.</summary>
public sealed record InboundAnswer(int StatusCode, string Body);

/// <summary>
/// <c>InboundMessages</c> (partition = channel, row = hash of type, provider message id and receipt status): the answer
/// given to each inbound request, so a redelivery gets the same answer and changes nothing.
/// <c>OutboundAddresses</c> (partition = channel, row = SHA-256 of the normalized address): the latest protocol message
/// sent to that address, so a reply without our MessageId finds its patient and run. Addresses are PHI: only their
/// hash is a key; the rows hold ids, never the address itself.
/// </summary>
public sealed class ConversationStore(StorageClients storage)
{
    private readonly TableClient answers = storage.Tables.GetTableClient("InboundMessages");
    private readonly TableClient addresses = storage.Tables.GetTableClient("OutboundAddresses");
    private volatile bool ready;

    public static string AddressKey(string channel, string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var normalized = channel == "sms"
            ? new string([.. address.Where(c => char.IsAsciiDigit(c) || c == '+')])
            : address.Trim().ToLowerInvariant();
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("engagement-address\u001f" + channel + "\u001f" + normalized)));
    }

    /// <summary>Remembers the message as the latest to its address (a newer one wins; an older retry never overwrites).</summary>
    public async Task RecordOutboundAsync(OutreachMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await EnsureAsync(cancellationToken);
        var key = AddressKey(message.Channel, message.To);
        var existing = await addresses.GetEntityIfExistsAsync<TableEntity>(message.Channel, key, cancellationToken: cancellationToken);
        if (existing.HasValue && existing.Value!.GetDateTimeOffset("At") > message.CreatedAt)
        {
            return;
        }

        await addresses.UpsertEntityAsync(new TableEntity(message.Channel, key)
        {
            ["MessageId"] = message.MessageId,
            ["PatientId"] = message.PatientId,
            ["At"] = message.CreatedAt,
        }, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>The MessageId of the latest protocol message sent to <paramref name="address"/> on the channel.</summary>
    public async Task<string?> LatestMessageToAsync(string channel, string address, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await addresses.GetEntityIfExistsAsync<TableEntity>(channel, AddressKey(channel, address), cancellationToken: cancellationToken);
        return row.HasValue ? row.Value!.GetString("MessageId") : null;
    }

    public static string AnswerKey(InboundMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var parts = $"{message.Type}\u001f{message.ProviderMessageId}\u001f{(message.IsReceipt ? message.Status : null)}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(parts)).AsSpan(0, 20));
    }

    public async Task<InboundAnswer?> FindAnswerAsync(string channel, string key, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await answers.GetEntityIfExistsAsync<TableEntity>(channel, key, cancellationToken: cancellationToken);
        return row.HasValue ? new InboundAnswer(row.Value!.GetInt32("StatusCode") ?? 200, row.Value.GetString("Body")) : null;
    }

    /// <summary>Stores the answer; when a concurrent delivery stored one first, that one is returned and wins.</summary>
    public async Task<InboundAnswer> SaveAnswerAsync(string channel, string key, InboundAnswer answer, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(answer);
        await EnsureAsync(cancellationToken);
        try
        {
            await answers.AddEntityAsync(new TableEntity(channel, key)
            {
                ["StatusCode"] = answer.StatusCode,
                ["Body"] = answer.Body,
                ["At"] = at,
            }, cancellationToken);
            return answer;
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
        {
            return await FindAnswerAsync(channel, key, cancellationToken) ?? answer;
        }
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await answers.CreateIfNotExistsAsync(cancellationToken);
            await addresses.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }
    }
}
