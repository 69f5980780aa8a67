using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Engagement.Functions.Api;

/// <summary>Runs a core <see cref="IResult"/> in the Functions ASP.NET Core integration pipeline.</summary>
internal sealed class ResultActionResult(IResult result) : IActionResult
{
    public Task ExecuteResultAsync(ActionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return result.ExecuteAsync(context.HttpContext);
    }
}

internal static class ResultExtensions
{
    public static async Task<IActionResult> ToActionResult(this Task<IResult> result) => new ResultActionResult(await result);
}
