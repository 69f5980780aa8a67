using System.Reflection;
using Engagement.Durable;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Functions.Tests;

public sealed class DependencyInjectionTests
{
    private static ServiceProvider BuildWorkerServices()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        FunctionsStartup.ConfigureServices(services, configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static TheoryData<Type> FunctionClasses()
    {
        var data = new TheoryData<Type>();
        foreach (var type in typeof(FunctionsStartup).Assembly.GetTypes()
            .Where(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance).Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null)))
        {
            data.Add(type);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FunctionClasses))]
    public void Every_function_class_resolves_from_the_worker_services(Type functionClass)
    {
        using var provider = BuildWorkerServices();
        using var scope = provider.CreateScope();
        var instance = ActivatorUtilities.CreateInstance(scope.ServiceProvider, functionClass);
        Assert.NotNull(instance);
    }

    [Fact]
    public void Every_core_activity_resolves_from_the_worker_services()
    {
        using var provider = BuildWorkerServices();
        Assert.All(DurableTaskCatalog.Activities, activity => Assert.NotNull(provider.GetRequiredService(activity)));
    }

    [Fact]
    public void Function_classes_were_found()
    {
        Assert.NotEmpty(FunctionClasses());
    }
}
