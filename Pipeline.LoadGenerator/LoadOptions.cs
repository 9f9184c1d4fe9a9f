namespace Pipeline.LoadGenerator;

/// <summary>How keys are picked: evenly, or with a share of the traffic going to a few hot keys.</summary>
internal sealed record KeySkew(int HotKeys, double HotShare)
{
    public static readonly KeySkew Uniform = new(0, 0);

    /// <summary>Parses <c>uniform</c> or <c>hot:SHARE[:KEYS]</c>, e.g. <c>hot:0.8:5</c> (80 % of events on 5 keys).</summary>
    public static KeySkew Parse(string text)
    {
        var parts = text.Split(':');
        if (parts is ["uniform"])
        {
            return Uniform;
        }

        if (parts[0] == "hot" && parts.Length is 2 or 3
            && double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var share) && share is > 0 and < 1)
        {
            var hotKeys = parts.Length == 3 && int.TryParse(parts[2], out var count) && count > 0 ? count : 1;
            return new(hotKeys, share);
        }

        throw new FormatException($"'{text}' is not a key skew: use 'uniform' or 'hot:SHARE[:KEYS]' with 0 < SHARE < 1, e.g. hot:0.8:5.");
    }
}

/// <summary>
/// How values are drawn. Values are multiples of 1/4, so that sums of them are exact in
/// binary floating point and the oracle can compare sums exactly.
/// </summary>
internal sealed record ValueDistribution(string Kind, double A, double B)
{
    /// <summary>Parses <c>uniform:MIN:MAX</c>, <c>normal:MEAN:STDDEV</c> or <c>constant:VALUE</c>.</summary>
    public static ValueDistribution Parse(string text)
    {
        var parts = text.Split(':');
        double Number(int i) => double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var n) && double.IsFinite(n)
            ? n : throw new FormatException($"'{parts[i]}' in '{text}' is not a number.");
        return parts switch
        {
            ["uniform", _, _] when Number(1) <= Number(2) => new("uniform", Number(1), Number(2)),
            ["normal", _, _] when Number(2) >= 0 => new("normal", Number(1), Number(2)),
            ["constant", _] => new("constant", Number(1), 0),
            _ => throw new FormatException($"'{text}' is not a value distribution: use uniform:MIN:MAX, normal:MEAN:STDDEV or constant:VALUE."),
        };
    }

    public double Next(Random random)
    {
        var value = Kind switch
        {
            "uniform" => A + (random.NextDouble() * (B - A)),
            "normal" => A + (B * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())),
            _ => A,
        };
        return Math.Round(value * 4) / 4;
    }
}

/// <summary>Everything one run is told to do.</summary>
internal sealed record LoadOptions
{
    public required Uri Api { get; init; }

    public required string ApiKey { get; init; }

    /// <summary>Events per second to aim for; 0 means as fast as the API takes them.</summary>
    public double Rate { get; init; }

    public TimeSpan? Duration { get; init; }

    public long? Count { get; init; }

    public int Keys { get; init; } = 100;

    public KeySkew Skew { get; init; } = KeySkew.Uniform;

    /// <summary>1 sends single events to <c>POST /api/events</c>; more sends batches to <c>/api/events/batch</c>.</summary>
    public int BatchSize { get; init; } = 1;

    public int Concurrency { get; init; } = 8;

    public ValueDistribution Values { get; init; } = new("uniform", 0, 100);

    /// <summary>Share of sends that repeat an already accepted event with the same id (a client retry).</summary>
    public double DuplicateRatio { get; init; }

    /// <summary>Share of events stamped so far in the past that their windows have closed.</summary>
    public double LateRatio { get; init; }

    public bool Verify { get; init; }

    public TimeSpan SettleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public IReadOnlyList<string> Windows { get; init; } = ["1m", "1h"];

    public bool Json { get; init; }

    public int? Seed { get; init; }

    /// <summary>Prefix of every key of this run, so that a verification sees only this run's keys.</summary>
    public required string KeyPrefix { get; init; }

    public int MaxAttempts { get; init; } = 5;

    /// <summary>How long one request may be held back by the API (429, 503 backlog-full); a request held back longer ends the run.</summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMinutes(2);
}
