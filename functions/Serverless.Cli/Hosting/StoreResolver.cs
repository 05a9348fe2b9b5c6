using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob;
using Serverless.Storage.S3;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The object-store schemes the CLI understands: file:// and relative paths from the core, s3:// from
/// Serverless.Storage.S3, and the Azure Blob schemes from Serverless.Storage.AzureBlob. Clients are only
/// created when a URI of their scheme is resolved, so a local-only run pays nothing for the cloud SDKs.
/// </summary>
internal static class StoreResolver
{
    public static ObjectStoreResolver Create()
    {
        var resolver = new ObjectStoreResolver(Directory.GetCurrentDirectory());
        S3ObjectStore.Register(resolver);
        AzureBlobObjectStore.Register(resolver);
        return resolver;
    }
}
