namespace Serverless.Core.Storage;

/// <summary>What a transfer is doing, for progress bars.</summary>
public enum TransferStage
{
    /// <summary>Checking the source artifact's SHA-256 before it is uploaded.</summary>
    Verifying,
    /// <summary>Bytes are moving.</summary>
    Uploading,
    /// <summary>The destination already held the same object; nothing was sent.</summary>
    Skipped,
    /// <summary>The object is in place.</summary>
    Completed,
}

/// <summary>
/// One progress report of a transfer: which object, how many of its bytes are done, and the stage.
/// Reported at least once per object (Skipped or Completed at the end), and during transfers per chunk.
/// </summary>
public readonly record struct TransferProgress(string Key, long BytesDone, long TotalBytes, TransferStage Stage)
{
    /// <summary>0..1, or 1 for an empty object.</summary>
    public double Fraction => TotalBytes <= 0 ? 1 : Math.Clamp(BytesDone / (double)TotalBytes, 0, 1);
}
