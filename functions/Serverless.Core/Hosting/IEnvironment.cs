namespace Serverless.Core.Hosting;

/// <summary>
/// The process environment as settings see it: variables, folders and the memory the container grants.
/// A seam so settings parsing is tested with a hand-written fake instead of mutating the real environment.
/// </summary>
public interface IEnvironment
{
    string? GetVariable(string name);

    string CurrentDirectory { get; }

    string HomeDirectory { get; }

    /// <summary>Memory available to the process in bytes (the cgroup limit inside a container).</summary>
    long TotalAvailableMemoryBytes { get; }
}

/// <summary>The real environment.</summary>
public sealed class SystemEnvironment : IEnvironment
{
    public static SystemEnvironment Instance { get; } = new();

    public string? GetVariable(string name) => Environment.GetEnvironmentVariable(name);

    public string CurrentDirectory => Directory.GetCurrentDirectory();

    public string HomeDirectory => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    // GCMemoryInfo honours cgroup limits (and Lambda's memory setting), unlike the machine's physical memory.
    public long TotalAvailableMemoryBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
}
