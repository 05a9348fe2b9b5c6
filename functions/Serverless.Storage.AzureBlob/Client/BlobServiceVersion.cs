namespace Serverless.Storage.AzureBlob;

/// <summary>The Blob service REST version every request pins (x-ms-version) and every SAS is signed for.</summary>
public static class BlobServiceVersion
{
    /// <summary>
    /// 2021-08-06: new enough for bearer tokens, 5000 MiB Put Blob and the 2020-12-06 SAS layout; supported
    /// by every Azure region and by Azurite 3.37 without --skipApiVersionCheck.
    /// </summary>
    public const string Current = "2021-08-06";
}
