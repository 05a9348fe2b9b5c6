namespace Serverless.Lambda.Tests.Measurements;

/// <summary>
/// A measurement, not a check: it runs only when LAMBDA_MEASURE=1 (it takes minutes and prints figures).
/// Run: LAMBDA_MEASURE=1 dotnet test tests/Serverless.Lambda.Tests --filter Category=Measure --logger "console;verbosity=detailed".
/// </summary>
public sealed class MeasureFactAttribute : FactAttribute
{
    public MeasureFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("LAMBDA_MEASURE") != "1")
        {
            Skip = "measurement: set LAMBDA_MEASURE=1 to run";
        }

        Timeout = 30 * 60 * 1000;
    }
}
