using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.Azure.Batch;
using Serverless.Core.Hosting;

namespace Serverless.Azure.Hosting;

/// <summary>Registers the services the function classes are given: one model host per process, and the two entry points over it.</summary>
public static class ServiceCollectionExtensions
{
    public static IServiceCollection AddServerlessAzure(this IServiceCollection services, IEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(environment);
        services.AddSingleton(p => new AzureModelHost(environment, p.GetRequiredService<ILogger<AzureModelHost>>()));
        services.AddHostedService(p => p.GetRequiredService<AzureModelHost>());
        services.AddSingleton<ProtocolEndpoint>();
        services.AddSingleton(_ => AzureBatchSettings.FromEnvironment(environment));
        services.AddSingleton(p => new BlobBatchService(p.GetRequiredService<AzureModelHost>(), p.GetRequiredService<AzureBatchSettings>(), p.GetRequiredService<ILogger<BlobBatchService>>()));
        return services;
    }
}
