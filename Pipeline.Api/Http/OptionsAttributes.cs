using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Pipeline.Api.Http;

/// <summary>Every entry of a string list is an IP address (<c>10.0.0.5</c>, <c>::1</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class IpAddressesAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) =>
        value is not IEnumerable<string> entries || entries.All(entry => IPAddress.TryParse(entry, out _));
}

/// <summary>Every entry of a string list is a network in CIDR notation (<c>10.0.0.0/8</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class IpNetworksAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) =>
        value is not IEnumerable<string> entries || entries.All(entry => IPNetwork.TryParse(entry, out _));
}

/// <summary>No entry of a string list is empty or only white space.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class NoBlankEntriesAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) =>
        value is not IEnumerable entries || entries.Cast<object?>().All(entry => entry is string text && !string.IsNullOrWhiteSpace(text));
}
