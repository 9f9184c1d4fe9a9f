using System.ComponentModel.DataAnnotations;

namespace Pipeline.StreamProcessor.Configuration;

/// <summary>
/// A duration setting written the processor's way (<c>200ms</c>, <c>30s</c>, <c>1m</c>, <c>1h</c>,
/// <c>1d</c> or <c>hh:mm:ss</c>, see <see cref="Durations"/>), at least <paramref name="minimum"/>.
/// Its messages name the configuration key and say what is expected.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DurationAttribute(string key, string minimum, string expectation) : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        var text = value as string;
        if (!Durations.TryParse(text, out var duration))
        {
            return new ValidationResult($"{key} '{text}' is not a duration (write 200ms, 30s, 1m, 1h or hh:mm:ss).");
        }

        return Durations.TryParse(minimum, out var least) && duration < least
            ? new ValidationResult($"{key} is {text}; it must be {expectation}.")
            : ValidationResult.Success;
    }
}
