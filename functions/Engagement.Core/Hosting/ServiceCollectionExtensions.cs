using Engagement.Conversations;
using Engagement.Diagnostics.DurableProbe;
using Engagement.Durable;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Health;
using Engagement.Links;
using Engagement.Measures;
using Engagement.Intake;
using Engagement.Security;
using Engagement.Security.Smart;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Azure.Messaging.ServiceBus;
using Engagement.Outcomes;
using Engagement.Outreach;
using Engagement.Outreach.Transports;
using Engagement.WriteBack;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Engagement.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the host-agnostic product: both hosts call this and nothing else to get the core.</summary>
    public static IServiceCollection AddEngagementCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<EngagementOptions>().Bind(configuration.GetSection(EngagementOptions.SectionName));
        services.AddSingleton<StorageClients>();
        services.AddSingleton<IStorageProbe>(sp => new TableStorageProbe("storage", sp.GetRequiredService<StorageClients>()));
        services.AddSingleton<AdminKeyAuthorizer>();
        services.AddSingleton<HealthHandler>();
        services.AddSingleton<ProbeStepStore>();
        services.AddSingleton<ProbeHandler>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddWriteBack(configuration);
        AddFhirFacade(services);
        AddOutreach(services, configuration);
        services.AddEngagementLinks(configuration);
        services.AddSmartOnFhir(configuration);
        services.AddFollowUp(configuration);
        services.AddSingleton<DefinitionsTerminology>();
        services.AddSingleton(sp =>
        {
            var terminology = sp.GetRequiredService<DefinitionsTerminology>();
            return new QuestionnaireEngine(terminology, terminology);
        });
        services.AddSingleton<ResponseRecorder>();
        services.AddSingleton<ResponseSubmissionHandler>();
        services.AddSingleton<FhirResponseSubmissionHandler>();
        services.AddSingleton<ConversationStore>();
        services.AddSingleton<ReplyProcessor>();
        services.AddSingleton<ReceiptProcessor>();
        services.AddSingleton<InboundHandler>();
        services.AddIntake(configuration);
        services.AddEngagementMeasures(configuration);
        foreach (var activity in DurableTaskCatalog.Activities)
        {
            services.AddTransient(activity);
        }

        return services;
    }

    private static void AddFhirFacade(IServiceCollection services)
    {
        services.AddSingleton<FhirDefinitions>();
        services.AddSingleton<IProtocolCatalog, ProtocolCatalog>();
        // The admin key (care team) or a SMART on FHIR bearer token (patient apps).
        services.AddSingleton<AdminKeyFhirAccessPolicy>();
        services.TryAddSingleton<IFhirAccessPolicy, SmartFhirAccessPolicy>();
        services.AddSingleton<FhirHandler>();
    }

    private static void AddOutreach(IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(OutreachOptions.SectionName);
        services.AddOptions<OutreachOptions>().Bind(section);
        services.AddSingleton<MessageTemplates>();
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<OutboxDispatcher>();
        services.AddHostedService<OutboxDispatchLoop>();
        var transport = section[nameof(OutreachOptions.Transport)] ?? "StorageQueue";
        if (string.Equals(transport, "ServiceBus", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton(_ =>
            {
                var bus = configuration.GetSection("ServiceBusConnection");
                var ns = bus["fullyQualifiedNamespace"] is { Length: > 0 } value
                    ? value
                    : throw new InvalidOperationException("ServiceBusConnection__fullyQualifiedNamespace is required when Engagement__Outbox__Transport is ServiceBus.");
                return new ServiceBusClient(ns, StorageClients.Credential(bus));
            });
            services.AddSingleton(sp => sp.GetRequiredService<ServiceBusClient>()
                .CreateSender(sp.GetRequiredService<IOptions<OutreachOptions>>().Value.QueueName));
            services.AddSingleton<IOutreachTransport, ServiceBusOutreachTransport>();
        }
        else if (string.Equals(transport, "StorageQueue", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton<IOutreachTransport, StorageQueueOutreachTransport>();
        }
        else
        {
            throw new InvalidOperationException("Engagement__Outbox__Transport must be ServiceBus or StorageQueue.");
        }
    }
}
