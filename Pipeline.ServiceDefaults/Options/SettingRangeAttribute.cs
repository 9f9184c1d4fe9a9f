using System.ComponentModel.DataAnnotations;

namespace Pipeline.ServiceDefaults.Options;

/// <summary>
/// <see cref="RangeAttribute"/> whose <see cref="ValidationAttribute.ErrorMessage"/> is the message
/// shown. The <c>[OptionsValidator]</c> generator replaces <see cref="RangeAttribute"/> itself with a
/// copy that always says "The field IngestOptions.MaxBatchSize must be between …", which names a C#
/// property instead of the configuration key a user sets; a derived attribute is kept as written.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field | AttributeTargets.Parameter)]
public sealed class SettingRangeAttribute : RangeAttribute
{
    /// <summary>An <see cref="int"/> range, both ends included.</summary>
    public SettingRangeAttribute(int minimum, int maximum)
        : base(minimum, maximum)
    {
    }

    /// <summary>A range of <paramref name="type"/> (<see cref="long"/>, <see cref="TimeSpan"/>), its ends in invariant culture.</summary>
    public SettingRangeAttribute(Type type, string minimum, string maximum)
        : base(type, minimum, maximum)
    {
        ParseLimitsInInvariantCulture = true;
        ConvertValueInInvariantCulture = true;
    }
}
