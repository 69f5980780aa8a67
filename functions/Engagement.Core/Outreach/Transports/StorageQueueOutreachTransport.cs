using Azure.Storage.Queues;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Outreach.Transports;

/// <summary>
/// Local transport: an Azure Storage queue (Azurite). Storage queues have no duplicate detection, so consumers
/// drop repeats by <c>messageId</c> (the envelope carries it); the dispatcher may resend after a crash.
/// </summary>
public sealed class StorageQueueOutreachTransport(StorageClients storage, IOptions<OutreachOptions> options) : IOutreachTransport
{
    private readonly QueueClient queue = storage.Queues.GetQueueClient(options.Value.QueueName);
    private volatile bool created;

    public async Task SendAsync(OutreachMessage message, CancellationToken cancellationToken)
    {
        if (!created)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            created = true;
        }

        await queue.SendMessageAsync(OutreachEnvelope.From(message).ToBinaryData(), cancellationToken: cancellationToken);
    }
}
