"""Storefront forms. The recharge fields come from the SKU's definition, so the
checkout form is built per SKU; the server validates again in place_order."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from catalog.recharge import form_fields
from orders.storefront.coupons import PostedCouponField, add_coupon_field
from orders.storefront.points import add_points_field
from users.models import User

# Hints for the browser, so a bad phone or QQ number shows while typing; the
# server's rules (catalog.recharge) are the ones that count.
RULE_HINTS = {
    "phone": {"pattern": r"(\+86|0086)?1[3-9][0-9]{9}", "inputmode": "tel"},
    "qq": {"pattern": r"[1-9][0-9]{4,10}", "inputmode": "numeric"},
    "email": {"type": "email", "inputmode": "email"},
    "game_id": {"pattern": r"[A-Za-z0-9_\-]{4,32}"},
}


def _offer_payments(field, *, buyer, channels) -> None:
    """The balance for a logged-in buyer, then the gateway channels on offer."""
    choices = list(channels)
    if buyer is not None:
        choices.insert(0, ("wallet", _("Wallet balance")))
    field.choices = choices
    if choices:
        field.initial = choices[0][0]


class CheckoutForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"))  # limits set per SKU
    contact = forms.CharField(
        label=_("Email or phone"),
        max_length=120,
        required=False,
        help_text=_("To find your order without an account."),
    )
    lookup_password = forms.CharField(
        label=_("Lookup password"),
        min_length=4,
        max_length=32,
        required=False,
        widget=forms.PasswordInput(render_value=True),
        help_text=_("You need it with the order number to look the order up."),
    )
    payment = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args, sku, buyer, channels, offers=True, **kwargs):
        """`offers=False`: a checkout POST. The coupon field then only checks
        the posted value's form (checkout decides whether it applies) and the
        buyer's coupons are listed by offer_coupons() only if the form is shown
        again (a successful POST redirects)."""
        super().__init__(*args, **kwargs)
        self.sku, self.buyer = sku, buyer
        self.fields["quantity"] = forms.IntegerField(
            label=_("Quantity"),
            min_value=sku.min_quantity,
            max_value=sku.max_quantity,
            initial=sku.min_quantity,
        )
        if buyer is not None:
            del self.fields["contact"], self.fields["lookup_password"]
        else:
            self.fields["contact"].required = True
            self.fields["lookup_password"].required = True
        _offer_payments(self.fields["payment"], buyer=buyer, channels=channels)
        add_points_field(self, buyer=buyer)  # marketing: use points (积分)
        # marketing: coupons
        add_coupon_field(self, buyer=buyer, sku=sku, choices=offers)
        self.recharge_keys = []
        for field in form_fields(sku.recharge_fields):
            name = f"account_{field['key']}"
            attrs = {"maxlength": 64, "autocomplete": "off"}
            attrs.update(RULE_HINTS.get(field["rule"], {}))
            self.fields[name] = forms.CharField(
                label=field["label"],
                required=field["required"],
                max_length=64,
                widget=forms.TextInput(attrs=attrs),
            )
            self.recharge_keys.append(field["key"])

    def offer_coupons(self) -> None:
        """The coupon <select> with the buyer's coupons, for a POST's form that
        is shown again (its errors, and the posted choice, are kept)."""
        if not isinstance(self.fields.get("coupon"), PostedCouponField):
            return
        add_coupon_field(self, buyer=self.buyer, sku=self.sku)
        self._bound_fields_cache.pop("coupon", None)  # bound to the old field
        if isinstance(self.fields.get("coupon"), PostedCouponField):
            # no coupon to choose from: no <select> shows the field's error
            del self.fields["coupon"]
            for message in self.errors.pop("coupon", []):
                self.add_error(None, message)

    def recharge_account(self) -> dict:
        return {
            key: self.cleaned_data.get(f"account_{key}", "")
            for key in self.recharge_keys
        }

    def account_fields(self):
        return [self[f"account_{key}"] for key in self.recharge_keys]


class PayOrderForm(forms.Form):
    """Paying an order left unpaid (the gateway page was closed, the balance was
    short): the balance for its logged-in buyer, or a gateway channel."""

    payment = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args, buyer, channels, **kwargs):
        super().__init__(*args, **kwargs)
        _offer_payments(self.fields["payment"], buyer=buyer, channels=channels)


class LookupForm(forms.Form):
    order_no = forms.CharField(label=_("Order number"), max_length=24)
    contact = forms.CharField(label=_("Email or phone"), max_length=120)
    password = forms.CharField(
        label=_("Lookup password"), max_length=32, widget=forms.PasswordInput
    )


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class WalletTopUpForm(forms.Form):
    """Amount and gateway channel of a wallet top-up; the limits are checked
    again by orders.payments.topups.start_topup."""

    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("1.00"),
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    channel = forms.ChoiceField(label=_("Pay with"), widget=forms.RadioSelect)

    def __init__(self, *args, channels, **kwargs):
        super().__init__(*args, **kwargs)
        top = Decimal(str(settings.WALLET_TOPUP_MAX))
        amount = self.fields["amount"]
        amount.max_value = top
        amount.validators.append(MaxValueValidator(top))
        amount.widget.attrs.update(min="1.00", max=f"{top:.2f}")
        amount.help_text = _("From 1.00 to %(max)s yuan.") % {"max": f"{top:.2f}"}
        choices = list(channels)
        self.fields["channel"].choices = choices
        if choices:
            self.fields["channel"].initial = choices[0][0]


class TicketForm(forms.Form):
    """A buyer's after-sales request on one of their orders."""

    kind = forms.ChoiceField(label=_("What do you need?"), widget=forms.RadioSelect)
    body = forms.CharField(
        label=_("Describe the problem"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    attachment = forms.FileField(
        label=_("Image (optional)"),
        required=False,
        help_text=_("A screenshot: JPEG, PNG or WebP, at most %(limit)s."),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp"}
        ),
    )

    def __init__(self, *args, kinds, limit: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
        self.fields["attachment"].help_text = self.fields["attachment"].help_text % {
            "limit": limit
        }


class TicketReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    attachment = forms.FileField(
        label=_("Image (optional)"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp"}
        ),
    )
