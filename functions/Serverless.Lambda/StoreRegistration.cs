using Serverless.Core.Storage;

namespace Serverless.Lambda;

/// <summary>Registers the object stores the bootstrap can read models and batch files from, beyond file://.</summary>
internal static class StoreRegistration
{
    public static void RegisterAll(ObjectStoreResolver resolver)
    {
        ArgumentNullException.ThrowIfNull(resolver);
        Serverless.Storage.S3.S3ObjectStore.Register(resolver);
    }
}
