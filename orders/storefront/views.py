"""The minimal storefront (/shop/): browse, buy, see the codes, look an order up.

Views parse input, call orders services or selectors, and render. No supplier or
gateway call happens here: paying by gateway only redirects the buyer.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection
from django.db.models import BooleanField, F, Min, Prefetch, Q
from django.db.models.expressions import RawSQL
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Category, Product, Sku
from catalog.services.pricing import quote_price
from catalog.services.sale_cache import sale_entry
from catalog.stock import StockState, sku_stock_state
from kameng.client_address import client_address
from kameng.compiled import CompiledRead
from kameng.exceptions import DomainError
from kameng.parsing import parse_ascii_int
from marketing.models import PointsReview
from orders.aftersales import (
    BUYER_KINDS,
    attachment_content_type,
    buyer_reply,
    buyer_tickets,
    messages_for_buyer,
    notes_for_buyer,
    open_buyer_ticket,
)
from orders.checkout import buy_with_wallet, pay_with_wallet, place_order
from orders.models import (
    CodeInvalidation,
    Order,
    OrderNote,
    RefundRequest,
    Ticket,
    TicketMessage,
)
from orders.payments.registry import available_channels
from orders.payments.selectors import topups_of
from orders.payments.services import start_gateway_payment
from orders.payments.topups import resume_topup, start_topup
from orders.recommendations import recommendations_for
from orders.reissues import reissues_for_buyer
from orders.rules import buyer_note
from orders.selectors import delivered_codes, find_guest_order, sold_code_secrets
from orders.storefront.coupons import coupon_option, initial_choice
from orders.storefront.forms import (
    CheckoutForm,
    LookupForm,
    PayOrderForm,
    SignupForm,
    TicketForm,
    TicketReplyForm,
    WalletTopUpForm,
)
from orders.storefront.points import points_option
from orders.storefront.referral import capture_invite, invite_context, remembers_device
from orders.storefront.vouchers import topup_bonus_context
from users import backends
from users.selectors import is_favourite
from users.services import get_or_create_wallet, register_buyer
from users.tracking import record_product_view, record_search

GUEST_ORDERS_KEY = "shop_guest_orders"
PAGE_SIZE = 20
RECENT_TOPUPS = 10  # top-ups listed on the wallet page
SEARCH_MAX = 100  # characters of a shop search


def _buyer(request):
    return request.user if request.user.is_authenticated else None


def _channels():
    """Gateway channels the shop offers, as (code, label)."""
    return available_channels()


def _listed_products():
    return Product.objects.filter(status=Product.Status.LISTED).select_related(
        "category"
    )


def home(request):
    categories = list(
        Category.objects.filter(is_active=True, parent=None).prefetch_related(
            Prefetch("children", queryset=Category.objects.filter(is_active=True))
        )
    )
    products = _listed_products().annotate(
        from_price=Min("skus__price", filter=Q(skus__is_active=True))
    )
    current = None
    if slug := request.GET.get("c"):
        try:
            validate_slug(slug)  # a NUL byte would crash the query on Postgres
        except ValidationError:
            raise Http404 from None
        current = get_object_or_404(Category, slug=slug, is_active=True)
        products = products.filter(category__in=[current, *current.children.all()])
    query = request.GET.get("q", "").replace("\x00", "").strip()[:SEARCH_MAX]
    if query:
        products = products.filter(name__icontains=query)
        record_search(user=request.user, query=query)  # never fails the page
    products = products.filter(from_price__isnull=False).order_by("category_id", "id")
    return render(
        request,
        "shop/home.html",
        {
            "categories": categories,
            "products": products[:60],
            "current": current,
            "query": query,
            # never fails the page (empty when it cannot be read)
            "recommendations": recommendations_for(user=request.user),
        },
    )


def _stock_state(sku: Sku) -> tuple[str, str]:
    state = sku_stock_state(sku)  # the back office's rule too
    if state == StockState.LOW:
        return state.value, _("Only %(n)s left") % {"n": sku.stock}
    return state.value, state.label


def _cached_sku_on_sale(request, pk: int) -> Sku | None:
    """The buy button's SKU (?sku=) from the per-process sale cache, when it is
    this product's and on sale there: no catalog read. A stale entry is safe:
    the sale checks the entry's version under the SKU's row lock and quotes
    again from a fresh one (catalog.services.sale_cache, orders.sale_sql)."""
    sku_id = parse_ascii_int(request.GET.get("sku"))
    if sku_id is None:
        return None
    try:
        entry = sale_entry(sku_id)
    except Sku.DoesNotExist:
        return None
    return entry.sku if entry.sku.product_id == pk and entry.on_sale else None


def product(request, pk: int):
    buyer = _buyer(request)
    form = None
    posted = request.method == "POST"
    if posted and (cached := _cached_sku_on_sale(request, pk)):
        form = CheckoutForm(
            request.POST, sku=cached, buyer=buyer, channels=_channels(), offers=False
        )
        if form.is_valid():
            response = _checkout(request, form=form, sku=cached, buyer=buyer)
            if response is not None:
                return response
    item = get_object_or_404(_listed_products(), pk=pk)
    skus = list(item.skus.filter(is_active=True).order_by("price", "id"))
    if not skus:
        raise Http404
    chosen = next((s for s in skus if str(s.pk) == request.GET.get("sku")), skus[0])
    if request.method == "GET":
        record_product_view(user=buyer, product_id=item.pk)  # never fails the page
    if form is None:  # not bought above: the page's own form
        form = CheckoutForm(
            request.POST or None,
            sku=chosen,
            buyer=buyer,
            channels=_channels(),
            offers=not posted,
        )
        if posted and form.is_valid():
            response = _checkout(request, form=form, sku=chosen, buyer=buyer)
            if response is not None:
                return response
    if posted:
        form.offer_coupons()  # shown again: the buyer's coupons to choose from
    quantity = form["quantity"].value() or chosen.min_quantity
    return render(
        request,
        "shop/product.html",
        {
            "product": item,
            "skus": [(sku, _stock_state(sku)) for sku in skus],
            "sku": chosen,
            "stock": _stock_state(chosen),
            "form": form,
            "quote": _safe_quote(
                sku=chosen,
                buyer=buyer,
                quantity=quantity,
                # the first quote of the page: with the preselected coupon
                options=_marketing_options(
                    request.POST or initial_choice(form), buyer=buyer
                ),
            ),
            "favourite": is_favourite(user=request.user, product_id=item.pk),
            "recommendations": recommendations_for(user=buyer, product_id=item.pk),
        },
    )


def _checkout(request, *, form, sku, buyer):
    """Place the order and pay it; returns where the buyer goes next (see
    `_to_order`, `_to_gateway`), or None with the errors added to the form
    (nothing was charged)."""
    data = form.cleaned_data
    try:
        if data["payment"] == "wallet":
            order = buy_with_wallet(
                sku=sku,
                quantity=data["quantity"],
                buyer=buyer,
                recharge_account=form.recharge_account(),
                ip=client_address(request),
                options=_marketing_options(request.POST, buyer=buyer),
            )
            return _to_order(request, order)
        order = place_order(
            sku=sku,
            quantity=data["quantity"],
            buyer=buyer,
            contact=data.get("contact", ""),
            lookup_password=data.get("lookup_password", ""),
            recharge_account=form.recharge_account(),
            ip=client_address(request),
            options=_marketing_options(request.POST, buyer=buyer),
        )
        if buyer is None:
            _remember_guest_order(request, order)
        return _to_gateway(
            request, start_gateway_payment(order=order, channel=data["payment"])
        )
    except DomainError as exc:
        for key, field_errors in exc.extra.get("fields", {}).items():
            for message in field_errors:
                form.add_error(
                    f"account_{key}" if f"account_{key}" in form.fields else None,
                    message,
                )
        if not exc.extra.get("fields"):
            form.add_error(None, exc.message)
        return None


def _by_htmx(request) -> bool:
    """The checkout form was sent by htmx (the product page with script on),
    not by the browser's own form submission."""
    return request.headers.get("HX-Request") == "true"


def _to_order(request, order: Order):
    """A paid order's page. A plain form post is redirected to it (a reload
    never posts the purchase again). An htmx post gets the page in this same
    response with its address for the browser's history (HX-Push-Url): the
    buyer sees the codes one round trip sooner, and a reload or a bookmark
    asks for the order page, never the purchase (issue 12)."""
    if not _by_htmx(request):
        return redirect("shop:order", order_no=order.order_no)
    response = order_detail(request, order.order_no)
    response["HX-Push-Url"] = reverse("shop:order", args=[order.order_no])
    return response


def _to_gateway(request, url: str):
    """The payment gateway's page: htmx is told to leave for it (HX-Redirect),
    since its request cannot follow a redirect to another site."""
    if not _by_htmx(request):
        return redirect(url)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = url
    return response


def _marketing_options(data, *, buyer) -> dict:
    """What the buyer chose for marketing's layers (points, coupon), from the
    checkout form's POST or the quote fragment's query string."""
    options = {}
    options.update(points_option(data, buyer=buyer))
    options.update(coupon_option(data, buyer=buyer))
    return options


def _safe_quote(*, sku, buyer, quantity, options=None):
    """The price of `quantity` (a number, or the text the buyer typed), or None
    when it is no quantity this SKU sells."""
    if not isinstance(quantity, int):
        quantity = parse_ascii_int(quantity)
    if quantity is None:
        return None
    try:
        return quote_price(sku=sku, buyer=buyer, quantity=quantity, options=options)
    except DomainError:
        return None


@require_GET
def quote(request, pk: int):
    """The price breakdown fragment, refreshed as the buyer changes the quantity."""
    sku = get_object_or_404(
        Sku.objects.filter(is_active=True, product__status=Product.Status.LISTED),
        pk=pk,
    )
    quantity = request.GET.get("quantity", "1")
    return render(
        request,
        "shop/_quote.html",
        {
            "quote": _safe_quote(
                sku=sku,
                buyer=_buyer(request),
                quantity=quantity,
                options=_marketing_options(request.GET, buyer=_buyer(request)),
            ),
            "sku": sku,
        },
    )


def _remember_guest_order(request, order: Order) -> None:
    seen = request.session.get(GUEST_ORDERS_KEY, [])
    if order.pk not in seen:
        request.session[GUEST_ORDERS_KEY] = [*seen[-19:], order.pk]


def _visible_order(request, order_no: str, order=None) -> tuple[Order, bool]:
    """The order (read here unless given) and whether it is the logged-in
    buyer's own. Someone else's order gets the same 404 as one that does not
    exist."""
    if order is None:
        order = get_object_or_404(
            Order.objects.select_related("sku__product"), order_no=order_no
        )
    own = request.user.is_authenticated and order.buyer_id == request.user.pk
    if not own and order.pk not in request.session.get(GUEST_ORDERS_KEY, []):
        raise Http404
    return order, own


def _pay_form(request, order: Order, own: bool) -> PayOrderForm | None:
    if order.status != Order.Status.PENDING_PAYMENT:
        return None
    return PayOrderForm(
        request.POST if request.method == "POST" else None,
        buyer=request.user if own else None,
        channels=_channels(),
    )


# Orders a buyer may ask after-sales help about (paid at some point).
AFTER_SALES_STATES = {
    Order.Status.PAID,
    Order.Status.DELIVERING,
    Order.Status.DELIVERED,
    Order.Status.FAILED,
    Order.Status.AFTER_SALES,
    Order.Status.REFUNDED,
    Order.Status.PARTIALLY_REFUNDED,
}


# What else the order page may list: whether the order has any such rows at
# all, read with the order in one query, so most orders (a sale just made)
# need no further query for them. Which of them show is each reader's rule.
# Written as EXISTS (names from model metadata): Django's Exists(...) costs
# more to compile than the rest of the page's query (issue 12).
def _has_rows(model, field: str) -> RawSQL:
    quote = connection.ops.quote_name
    column = model._meta.get_field(field).column
    return RawSQL(
        f"EXISTS (SELECT 1 FROM {quote(model._meta.db_table)} AS has "
        f"WHERE has.{quote(column)} = {quote(Order._meta.db_table)}."
        f"{quote(Order._meta.pk.column)})",
        (),
        output_field=BooleanField(),
    )


ORDER_PAGE_HAS = {
    "has_notes": _has_rows(OrderNote, "order"),
    "has_refunds": _has_rows(RefundRequest, "order"),
    "has_tickets": _has_rows(Ticket, "order"),
    "has_reissues": _has_rows(CodeInvalidation, "order"),
    # the review form or the review (orders.templatetags.points.order_review)
    "has_review": _has_rows(PointsReview, "order_id"),
}


def _order_page_orders():
    # the two names the page shows rather than the SKU and product rows:
    # building and compiling their fifty columns cost more than the rest of
    # the query (issue 12)
    return Order.objects.annotate(
        sku_name=F("sku__name"),
        product_name=F("sku__product__name"),
        # the codes with the order: one query less (orders.selectors)
        sold_codes=sold_code_secrets(),
        **ORDER_PAGE_HAS,
    )


# `_order_page_orders().filter(order_no=…)`, compiled once per process: the
# compile cost half of reading the order (issue 12). The mark is an order
# number no order can have.
_ORDER_FOR_PAGE = CompiledRead(
    Order, lambda order_no: _order_page_orders().filter(order_no=order_no), "\x00no"
)


def _order_for_page(order_no: str) -> Order:
    """`get_object_or_404(_order_page_orders(), order_no=order_no)`."""
    order = _ORDER_FOR_PAGE.first(order_no)
    if order is None:
        raise Http404
    return order


def order_detail(request, order_no: str):
    order, own = _visible_order(request, order_no, order=_order_for_page(order_no))
    return render(
        request,
        "shop/order.html",
        {
            "order": order,
            "codes": delivered_codes(order=order),
            "note": order.delivery.get("note", ""),
            "pay_form": _pay_form(request, order, own),
            "staff_notes": notes_for_buyer(order) if order.has_notes else [],
            "refunds": order.refunds.exclude(
                status=RefundRequest.Status.REJECTED
            ).order_by("id")
            if order.has_refunds
            else [],
            "tickets": order.tickets.filter(buyer=request.user)
            if own and order.has_tickets
            else [],
            "can_ask": own and order.status in AFTER_SALES_STATES,
            "reissues": reissues_for_buyer(order) if own and order.has_reissues else [],
        },
    )


def _attachment_limit() -> str:
    return filesizeformat(settings.TICKET_ATTACHMENT_MAX_BYTES)


def _add_domain_error(form, exc: DomainError, field_for_code: dict) -> None:
    form.add_error(field_for_code.get(exc.code), exc.message)


ERROR_FIELDS = {"ticket_attachment_refused": "attachment"}


@login_required(login_url="shop:login")
def open_ticket(request, order_no: str):
    """申请售后: the buyer says what is wrong with one of their orders."""
    order, own = _visible_order(request, order_no)
    if not own or order.status not in AFTER_SALES_STATES:
        raise Http404
    form = TicketForm(
        request.POST or None,
        request.FILES or None,
        kinds=[(kind.value, kind.label) for kind in BUYER_KINDS],
        limit=_attachment_limit(),
    )
    if request.method == "POST" and form.is_valid():
        try:
            ticket = open_buyer_ticket(
                order=order,
                buyer=request.user,
                kind=form.cleaned_data["kind"],
                body=form.cleaned_data["body"],
                attachment=form.cleaned_data["attachment"],
            )
        except DomainError as exc:
            _add_domain_error(form, exc, ERROR_FIELDS)
        else:
            messages.success(request, _("Your request was sent to support."))
            return redirect("shop:ticket", pk=ticket.pk)
    return render(request, "shop/ticket_new.html", {"order": order, "form": form})


@login_required(login_url="shop:login")
def my_tickets(request):
    return render(
        request,
        "shop/tickets.html",
        {"tickets": buyer_tickets(request.user)[: PAGE_SIZE * 5]},
    )


def _own_ticket(request, pk: int) -> Ticket:
    return get_object_or_404(
        Ticket.objects.select_related("order__sku__product"),
        pk=pk,
        buyer=request.user,
    )


@login_required(login_url="shop:login")
def ticket_detail(request, pk: int):
    """The conversation with support, where the request stands, and a reply."""
    ticket = _own_ticket(request, pk)
    form = TicketReplyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            buyer_reply(
                ticket=ticket,
                buyer=request.user,
                body=form.cleaned_data["body"],
                attachment=form.cleaned_data["attachment"],
            )
        except DomainError as exc:
            _add_domain_error(form, exc, ERROR_FIELDS)
        else:
            messages.success(request, _("Reply sent."))
            return redirect("shop:ticket", pk=ticket.pk)
    return render(
        request,
        "shop/ticket.html",
        {
            "ticket": ticket,
            "thread": messages_for_buyer(ticket),
            "form": form if ticket.status != Ticket.Status.CLOSED else None,
            "first_response_hours": settings.TICKET_SLA_FIRST_RESPONSE_HOURS,
            "rule_note": buyer_note(ticket),
        },
    )


@login_required(login_url="shop:login")
def ticket_attachment(request, pk: int):
    """An image the buyer's own ticket carries (never an internal message's)."""
    message = get_object_or_404(
        TicketMessage.objects.exclude(attachment=""),
        pk=pk,
        internal=False,
        ticket__buyer=request.user,
    )
    return FileResponse(
        message.attachment.open("rb"), content_type=attachment_content_type(message)
    )


@require_POST
def pay_order(request, order_no: str):
    """Pay an order left unpaid: with the balance (its own buyer only) or by
    going to a gateway again. A refusal comes back as a message on the order."""
    order, own = _visible_order(request, order_no)
    form = _pay_form(request, order, own)
    if form is None or not form.is_valid():
        messages.error(request, _("This order cannot be paid now."))
        return redirect("shop:order", order_no=order.order_no)
    try:
        if form.cleaned_data["payment"] == "wallet":
            pay_with_wallet(order=order, actor=request.user)
            return redirect("shop:order", order_no=order.order_no)
        return redirect(
            start_gateway_payment(order=order, channel=form.cleaned_data["payment"])
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("shop:order", order_no=order.order_no)


@login_required(login_url="shop:login")
@require_POST
def pay_topup(request, topup_no: str):
    """Go to the gateway again for one of the buyer's unpaid top-ups."""
    try:
        return redirect(resume_topup(buyer=request.user, topup_no=topup_no))
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("shop:wallet")


@login_required(login_url="shop:login")
def my_orders(request):
    """The buyer's orders, newest first, by keyset (no COUNT)."""
    orders = (
        Order.objects.filter(buyer=request.user)
        .select_related("sku__product")
        .order_by("-id")
    )
    if text := request.GET.get("before", ""):
        before = parse_ascii_int(text)
        if before is None:
            raise Http404
        orders = orders.filter(id__lt=before)
    page = list(orders[: PAGE_SIZE + 1])
    return render(
        request,
        "shop/orders.html",
        {
            "orders": page[:PAGE_SIZE],
            "next_before": page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None,
        },
    )


def lookup(request):
    """Order lookup without an account: number + contact + lookup password, one
    answer for every kind of miss. Rate-limited per client address
    (kameng.ratelimits: the "lookup" group)."""
    form = LookupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            order = find_guest_order(
                order_no=form.cleaned_data["order_no"],
                contact=form.cleaned_data["contact"],
                password=form.cleaned_data["password"],
            )
            if order is not None:
                _remember_guest_order(request, order)
                return redirect("shop:order", order_no=order.order_no)
            form.add_error(
                None, _("No order matches this number, contact and password.")
            )
    return render(request, "shop/lookup.html", {"form": form})


@remembers_device
def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = register_buyer(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except DomainError as exc:
            form.add_error(exc.extra.get("field"), exc.message)
        else:
            capture_invite(request, invitee=user)  # referral: who invited whom
            login(request, user, backend=backends.PATH)
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("shop:home")
    return render(
        request, "shop/signup.html", {"form": form, **invite_context(request)}
    )


@login_required(login_url="shop:login")
def wallet(request):
    """Balance, recent movements and top-ups, and the top-up form: a valid form
    sends the buyer to the gateway, which sends them back here."""
    form = WalletTopUpForm(
        request.POST if request.method == "POST" else None, channels=_channels()
    )
    if request.method == "POST" and form.is_valid():
        try:
            _topup, url = start_topup(
                buyer=request.user,
                amount=form.cleaned_data["amount"],
                channel=form.cleaned_data["channel"],
            )
            return redirect(url)
        except DomainError as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
    account = get_or_create_wallet(user=request.user)
    entries = account.entries.order_by("-id")[:20]
    return render(
        request,
        "shop/wallet.html",
        {
            "wallet": account,
            "entries": entries,
            "form": form,
            "topups": topups_of(buyer=request.user)[:RECENT_TOPUPS],
            **topup_bonus_context(request.user),  # marketing: 充值赠送
        },
    )
