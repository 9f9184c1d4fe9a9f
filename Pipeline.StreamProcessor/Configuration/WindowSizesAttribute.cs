using System.ComponentModel.DataAnnotations;
using Pipeline.Contracts;

namespace Pipeline.StreamProcessor.Configuration;

/// <summary>
/// <c>Aggregation:Windows</c>: unset (the defaults) or a non-empty list of distinct window sizes of
/// at least 1s, none of which may be named like the all-time window. Every wrong entry is named.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class WindowSizesAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not string[] windows)
        {
            return ValidationResult.Success; // unset: the defaults
        }

        var failures = new List<string>();
        if (windows.Length == 0)
        {
            failures.Add("Aggregation:Windows is empty; leave it unset for the defaults (1m, 1h) or list window sizes such as 1m.");
        }

        var sizes = new HashSet<TimeSpan>();
        foreach (var window in windows)
        {
            if (!Durations.TryParse(window, out var size) || size < TimeSpan.FromSeconds(1))
            {
                failures.Add($"Aggregation:Windows entry '{window}' is not a window size of at least 1s (write 30s, 1m, 1h, 1d).");
            }
            else if (!sizes.Add(size))
            {
                failures.Add($"Aggregation:Windows lists the size {Durations.Format(size)} twice.");
            }
            else if (Durations.Format(size) == WindowNames.AllTime)
            {
                failures.Add($"Aggregation:Windows entry '{window}' collides with the all-time window name.");
            }
        }

        return failures.Count == 0 ? ValidationResult.Success : new ValidationResult(string.Join(" ", failures));
    }
}
