using Serverless.Core.Storage;

namespace Serverless.Cli.Hosting;

/// <summary>
/// The object-store schemes the CLI understands: file:// and relative paths from the core. Cloud stores
/// register here as their projects are referenced (s3:// from Serverless.Storage.S3).
/// </summary>
internal static class StoreResolver
{
    public static ObjectStoreResolver Create() => new(Directory.GetCurrentDirectory());
}
