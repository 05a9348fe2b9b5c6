using System.Runtime.CompilerServices;
using Serverless.Core.Storage;
using Serverless.Storage.AzureBlob;
using Serverless.Storage.S3;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The object-store schemes the CLI understands: file:// and relative paths from the core, s3:// from
/// Serverless.Storage.S3, and the Azure Blob schemes from Serverless.Storage.AzureBlob. The cloud stores are
/// registered by name only: their assemblies (and System.Net.Http, AWSSDK) are loaded the first time a URI of
/// their scheme is resolved, so a local-only run pays nothing for them, not even the assembly loads.
/// </summary>
internal static class StoreResolver
{
    /// <summary>The schemes <see cref="CreateCloud"/> registers; a test keeps the two in step.</summary>
    public static IReadOnlyList<string> CloudSchemes { get; } = ["azblob", "https", "s3"];

    /// <summary>The resolver; relative store paths resolve against <paramref name="baseDirectory"/> (the process's current directory when null).</summary>
    public static ObjectStoreResolver Create(string? baseDirectory = null)
    {
        var resolver = new ObjectStoreResolver(baseDirectory ?? Directory.GetCurrentDirectory());
        var cloud = new Lazy<ObjectStoreResolver>(CreateCloud, LazyThreadSafetyMode.ExecutionAndPublication);
        foreach (var scheme in CloudSchemes)
        {
            resolver.Register(scheme, uri => cloud.Value.Resolve(uri.OriginalString));
        }

        return resolver;
    }

    /// <summary>A resolver with the cloud stores registered for real; kept out of line so their types load only when it runs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ObjectStoreResolver CreateCloud()
    {
        var resolver = new ObjectStoreResolver(Directory.GetCurrentDirectory());
        S3ObjectStore.Register(resolver);
        AzureBlobObjectStore.Register(resolver);
        return resolver;
    }
}
