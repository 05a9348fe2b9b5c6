using Serverless.Tests.Shared;

namespace Serverless.Lambda.Tests.Process;

/// <summary>
/// A test of the arm64 Native AOT bootstrap run under Debian's qemu-user (<c>qemu-aarch64-static</c>, with the
/// aarch64 C and C++ runtimes of the cross toolchain as its library root, and Debian's libssl3:arm64). It is skipped, saying what is
/// missing, where the emulator or the package is not there; <c>./build.sh test</c> installs the one and builds the other.
/// </summary>
public sealed class Arm64FactAttribute : FactAttribute
{
    public const string Qemu = "/usr/bin/qemu-aarch64-static";
    public const string LibraryRoot = "/usr/aarch64-linux-gnu";

    public Arm64FactAttribute()
    {
        Timeout = 5 * 60 * 1000;
        if (!File.Exists(Qemu))
        {
            Skip = $"arm64 smoke test skipped: {Qemu} is missing (Debian's qemu-user-static; ./build.sh test installs it when it can run apt-get as root)";
        }
        else if (!File.Exists(Path.Combine(LibraryRoot, "lib", "libstdc++.so.6")))
        {
            Skip = $"arm64 smoke test skipped: no aarch64 C++ runtime under {LibraryRoot} (Debian's gcc-aarch64-linux-gnu and libstdc++6-arm64-cross)";
        }
        else if (!File.Exists(Path.Combine(OpenSslFolder, "libssl.so.3")))
        {
            Skip = $"arm64 smoke test skipped: no aarch64 OpenSSL in {OpenSslFolder} (./build.sh test unpacks Debian's libssl3:arm64 there)";
        }
        else if (!File.Exists(BootstrapPath))
        {
            Skip = $"arm64 smoke test skipped: no arm64 bootstrap at {BootstrapPath} (run ./build.sh package)";
        }
    }

    /// <summary>LAMBDA_BOOTSTRAP_ARM64, else what scripts/package-lambda.sh writes.</summary>
    public static string BootstrapPath =>
        Environment.GetEnvironmentVariable("LAMBDA_BOOTSTRAP_ARM64") is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(RepoPaths.Root, "artifacts", "lambda", "arm64", "bootstrap");

    /// <summary>Debian's libssl3:arm64, unpacked by ./build.sh test (Lambda's image has OpenSSL; the cross toolchain does not).</summary>
    public static string OpenSslFolder => Path.Combine(RepoPaths.Root, ".cache", "arm64-root", "usr", "lib", "aarch64-linux-gnu");

    /// <summary>The command the bootstrap runs under: the aarch64 C/C++ runtimes as library root, OpenSSL on the guest's library path.</summary>
    public static IReadOnlyList<string> Launcher => [Qemu, "-L", LibraryRoot, "-E", "LD_LIBRARY_PATH=" + OpenSslFolder];
}
