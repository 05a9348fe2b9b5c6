namespace Serverless.Infra.Configuration;

/// <summary>
/// The instruction set a model's function runs on. arm64 (Graviton) is the default because it costs less per
/// GB-second; x86_64 stays selectable per model. Each has its own Native AOT bootstrap zip.
/// </summary>
public enum LambdaArchitecture
{
    Arm64,
    X86_64,
}

/// <summary>Names of <see cref="LambdaArchitecture"/> as Lambda and <c>./build.sh package</c> spell them.</summary>
public static class LambdaArchitectureNames
{
    /// <summary><c>arm64</c> or <c>x86_64</c>: Lambda's name, and the suffix of the package's zip.</summary>
    public static string Name(this LambdaArchitecture architecture) => architecture switch
    {
        LambdaArchitecture.Arm64 => "arm64",
        LambdaArchitecture.X86_64 => "x86_64",
        _ => throw new ArgumentOutOfRangeException(nameof(architecture)),
    };

    /// <summary>The zip <c>./build.sh package</c> writes for the architecture.</summary>
    public static string PackageFileName(this LambdaArchitecture architecture) => $"bootstrap-{architecture.Name()}.zip";

    public static bool TryParse(string raw, out LambdaArchitecture architecture)
    {
        switch (raw.Trim().ToUpperInvariant())
        {
            case "ARM64":
                architecture = LambdaArchitecture.Arm64;
                return true;
            case "X86_64":
                architecture = LambdaArchitecture.X86_64;
                return true;
            default:
                architecture = default;
                return false;
        }
    }
}
