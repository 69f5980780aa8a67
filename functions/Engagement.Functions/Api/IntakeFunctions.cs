using Engagement.Intake;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>EHR event intake routes (authentication and limits are the core's: anonymous at the Functions level).</summary>
public sealed class IntakeFunctions(IntakeHandler handler)
{
    [Function("NotificationPost")]
    public Task<IActionResult> Post(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/notifications/{source}")] HttpRequest request, string source) =>
        handler.PostNotificationAsync(request, source, request.HttpContext.RequestAborted).ToActionResult();

    [Function("NotificationPut")]
    public Task<IActionResult> Put(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/notifications/{source}/{type}/{id}")] HttpRequest request, string source, string type, string id) =>
        handler.PutResourceAsync(request, source, type, id, request.HttpContext.RequestAborted).ToActionResult();

    [Function("NotificationDelete")]
    public Task<IActionResult> Delete(
        [HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "api/notifications/{source}/{type}/{id}")] HttpRequest request, string source, string type, string id) =>
        handler.DeleteResourceAsync(request, source, type, id, request.HttpContext.RequestAborted).ToActionResult();

    [Function("EventsPost")]
    public Task<IActionResult> Events(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/events/{source}")] HttpRequest request, string source) =>
        handler.PostEventsAsync(request, source, request.HttpContext.RequestAborted).ToActionResult();

    [Function("EventsOptions")]
    public IActionResult EventsHandshake(
        [HttpTrigger(AuthorizationLevel.Anonymous, "options", Route = "api/events/{source}")] HttpRequest request, string source) =>
        new ResultActionResult(handler.OptionsEvents(request, source));

    [Function("SubscriptionsGet")]
    public Task<IActionResult> Subscriptions(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/subscriptions/{source}")] HttpRequest request, string source) =>
        handler.GetSubscriptionsAsync(request, source, request.HttpContext.RequestAborted).ToActionResult();
}
